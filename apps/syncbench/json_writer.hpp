// A small streaming JSON writer: objects, arrays, escaped strings, numbers.
// It only ever writes well-formed JSON (commas and nesting are tracked), which
// is what the documented `--json` contracts of probe and bench rely on.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace syncbench {

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  // one_line: the values go on one line (long number arrays).
  JsonWriter& begin_array(bool one_line = false);
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(double d);  // non-finite -> null
  JsonWriter& value(std::nullptr_t);
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>)
      return raw(std::to_string(static_cast<long long>(v)));
    else
      return raw(std::to_string(static_cast<unsigned long long>(v)));
  }
  template <class T>
  JsonWriter& value(const std::optional<T>& v) {
    return v ? value(*v) : value(nullptr);
  }

  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  // Finishes the document with a newline.
  void finish() { out_ << '\n'; }

 private:
  JsonWriter& raw(std::string_view text);
  void before_value();
  void newline();

  std::ostream& out_;
  struct Level {
    bool object;
    int count;
    bool one_line;
  };
  std::vector<Level> stack_;
  bool after_key_ = false;
};

// JSON string escaping, also used by the HTML writer's embedded data.
std::string json_escape(std::string_view s);

}  // namespace syncbench
