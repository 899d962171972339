// A small strict JSON parser (reads the --json reports for `compare`, and the
// tests check syncbench's output with it): it
// accepts exactly RFC 8259 documents (one value, no trailing text, no
// comments, no trailing commas) and throws with the byte offset otherwise.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace syncbench {

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::map<std::string, JsonValue>;

  JsonValue() = default;  // null
  explicit JsonValue(bool b) : v_(b) {}
  explicit JsonValue(double d) : v_(d) {}
  explicit JsonValue(std::string s) : v_(std::move(s)) {}
  explicit JsonValue(Array a) : v_(std::make_shared<Array>(std::move(a))) {}
  explicit JsonValue(Object o) : v_(std::make_shared<Object>(std::move(o))) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_number() const { return std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v_); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v_); }

  bool as_bool() const { return get<bool>("a boolean"); }
  double as_number() const { return get<double>("a number"); }
  const std::string& as_string() const { return get<std::string>("a string"); }
  const Array& as_array() const { return *get<std::shared_ptr<Array>>("an array"); }
  const Object& as_object() const { return *get<std::shared_ptr<Object>>("an object"); }

  bool has(const std::string& key) const { return is_object() && as_object().count(key) != 0; }
  // Object member; throws when absent.
  const JsonValue& operator[](const std::string& key) const;

 private:
  template <class T>
  const T& get(const char* what) const {
    if (auto* p = std::get_if<T>(&v_)) return *p;
    throw std::runtime_error(std::string("JSON value is not ") + what);
  }
  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> v_;
};

JsonValue parse_json(const std::string& text);

}  // namespace syncbench
