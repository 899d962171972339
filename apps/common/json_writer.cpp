// JsonWriter: separators and line breaks by layout; numbers and escaping.
#include "common/json_writer.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace apps {

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[48];
  if ((v == std::floor(v) && std::fabs(v) < 1e15) || (std::fabs(v) >= 1e5 && std::fabs(v) < 1e15)) {
    // Large figures (ops/s) need no fraction, and no exponent either.
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

void JsonWriter::newline() {
  if (layout_ == Layout::compact) return;
  out_ << '\n';
  for (std::size_t i = 0; i < stack_.size(); ++i) out_ << "  ";
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  if (stack_.back().object) throw std::logic_error("JsonWriter: value without a key inside an object");
  if (stack_.back().count++ > 0) out_ << (stack_.back().one_line && layout_ == Layout::indented ? ", " : ",");
  if (!stack_.back().one_line) newline();
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (stack_.empty() || !stack_.back().object || after_key_)
    throw std::logic_error("JsonWriter: key outside an object");
  if (stack_.back().count++ > 0) out_ << ',';
  newline();
  out_ << '"' << json_escape(k) << (layout_ == Layout::compact ? "\":" : "\": ");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ << '{';
  stack_.push_back({true, 0, false});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  bool had = stack_.back().count > 0;
  stack_.pop_back();
  if (had) newline();
  out_ << '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array(bool one_line) {
  before_value();
  out_ << '[';
  stack_.push_back({false, 0, one_line});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  bool had = stack_.back().count > 0 && !stack_.back().one_line;
  stack_.pop_back();
  if (had) newline();
  out_ << ']';
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view text) {
  before_value();
  out_ << text;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  return raw('"' + json_escape(s) + '"');
}
JsonWriter& JsonWriter::value(bool b) {
  return raw(b ? "true" : "false");
}
JsonWriter& JsonWriter::value(std::nullptr_t) {
  return raw("null");
}
JsonWriter& JsonWriter::value(double d) {
  return raw(json_number(d));
}
JsonWriter& JsonWriter::fixed(double d, int decimals) {
  if (!std::isfinite(d)) return raw("null");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
  return raw(buf);
}

}  // namespace apps
