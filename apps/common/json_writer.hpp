// A small streaming JSON writer shared by syncbench (its --json reports) and
// demo-server (/stats and the JSON route bodies): objects, arrays, escaped
// strings, numbers. It only ever writes well-formed JSON (commas and nesting
// are tracked), which both apps' documented JSON contracts rely on.
//
// Two layouts: `indented` (two spaces, one key per line; what people read in
// a report file) and `compact` (no whitespace at all; what a server sends).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace apps {

class JsonWriter {
 public:
  enum class Layout { indented, compact };

  explicit JsonWriter(std::ostream& out, Layout layout = Layout::indented) : out_(out), layout_(layout) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  // one_line: in the indented layout, the values go on one line (long number
  // arrays). The compact layout puts everything on one line anyway.
  JsonWriter& begin_array(bool one_line = false);
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(double d);  // shortest text (json_number); non-finite -> null
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
  // A number with exactly `decimals` digits after the point ("%.3f"), for
  // figures whose readers expect a fixed precision; non-finite -> null.
  JsonWriter& fixed(double d, int decimals);

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
  Layout layout_;
  struct Level {
    bool object;
    int count;
    bool one_line;
  };
  std::vector<Level> stack_;
  bool after_key_ = false;
};

// JSON string escaping (quotes, backslash, control characters; other bytes,
// UTF-8 included, pass through).
std::string json_escape(std::string_view s);

// Shortest round-trip-ish text of a number: whole numbers and large figures
// without a fraction or an exponent ("12345678"), others with six significant
// digits ("1.5", "0.000123"); "null" when not finite.
std::string json_number(double v);

}  // namespace apps
