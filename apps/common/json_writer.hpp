// A small streaming JSON writer shared by syncbench (its --json reports) and
// demo-server (/stats and the JSON route bodies): objects, arrays, escaped
// strings, numbers. It only ever writes well-formed JSON (commas and nesting
// are tracked), which both apps' documented JSON contracts rely on.
//
// Two layouts: `indented` (two spaces, one key per line; what people read in
// a report file) and `compact` (no whitespace at all; what a server sends).
// Written to a stream, or appended to a string: the string form allocates
// nothing beyond the string's own growth, so it suits per-request lines.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace apps {

class JsonWriter {
 public:
  enum class Layout { indented, compact };
  // Which bytes of a string are escaped besides quote and backslash:
  // control characters (UTF-8 passes through as it is), or also every byte
  // from 0x7f up, each as \u00XX, which keeps the output ASCII and valid
  // JSON whatever bytes it was given (a client's request target).
  enum class Escape { controls, non_ascii };

  explicit JsonWriter(std::ostream& out, Layout layout = Layout::indented) : stream_(&out), layout_(layout) {}
  JsonWriter(std::string& out, Layout layout, Escape escape = Escape::controls)
      : string_(&out), layout_(layout), escape_(escape) {}

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
  void finish() { put("\n"); }

 private:
  // Deeper nesting than any document of the apps; beyond it is a logic error.
  static constexpr std::size_t kMaxDepth = 16;
  struct Level {
    bool object;
    int count;
    bool one_line;
  };

  JsonWriter& raw(std::string_view text);
  void put(std::string_view text);
  void put_string(std::string_view s);  // quoted and escaped
  void before_value();
  void newline();
  void push(Level level);
  Level& top() { return stack_[depth_ - 1]; }

  std::ostream* stream_ = nullptr;  // exactly one of stream_ and string_
  std::string* string_ = nullptr;
  Layout layout_;
  Escape escape_ = Escape::controls;
  std::array<Level, kMaxDepth> stack_{};
  std::size_t depth_ = 0;
  bool after_key_ = false;
};

// JSON string escaping (quotes, backslash, control characters; other bytes,
// UTF-8 included, pass through).
std::string json_escape(std::string_view s);
// The same, appended to `out`; with Escape::non_ascii bytes from 0x7f up
// are escaped too.
void append_json_escaped(std::string& out, std::string_view s,
                         JsonWriter::Escape escape = JsonWriter::Escape::controls);

// Shortest round-trip-ish text of a number: whole numbers and large figures
// without a fraction or an exponent ("12345678"), others with six significant
// digits ("1.5", "0.000123"); "null" when not finite.
std::string json_number(double v);

}  // namespace apps
