// JsonWriter: separators and line breaks by layout; numbers and escaping.
#include "common/json_writer.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace apps {

void append_json_escaped(std::string& out, std::string_view s, JsonWriter::Escape escape) {
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
        if (c < 0x20 || (c >= 0x7f && escape == JsonWriter::Escape::non_ascii)) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_escaped(out, s);
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

void JsonWriter::put(std::string_view text) {
  if (string_)
    string_->append(text);
  else
    *stream_ << text;
}

void JsonWriter::put_string(std::string_view s) {
  if (string_) {
    *string_ += '"';
    append_json_escaped(*string_, s, escape_);
    *string_ += '"';
  } else {
    std::string quoted = "\"";
    append_json_escaped(quoted, s, escape_);
    quoted += '"';
    *stream_ << quoted;
  }
}

void JsonWriter::newline() {
  if (layout_ == Layout::compact) return;
  put("\n");
  for (std::size_t i = 0; i < depth_; ++i) put("  ");
}

void JsonWriter::push(Level level) {
  if (depth_ == kMaxDepth) throw std::logic_error("JsonWriter: nested deeper than kMaxDepth");
  stack_[depth_++] = level;
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  if (top().object) throw std::logic_error("JsonWriter: value without a key inside an object");
  if (top().count++ > 0) put(top().one_line && layout_ == Layout::indented ? ", " : ",");
  if (!top().one_line) newline();
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (depth_ == 0 || !top().object || after_key_) throw std::logic_error("JsonWriter: key outside an object");
  if (top().count++ > 0) put(",");
  newline();
  put_string(k);
  put(layout_ == Layout::compact ? ":" : ": ");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  put("{");
  push({true, 0, false});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  const bool had = top().count > 0;
  --depth_;
  if (had) newline();
  put("}");
  return *this;
}

JsonWriter& JsonWriter::begin_array(bool one_line) {
  before_value();
  put("[");
  push({false, 0, one_line});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  const bool had = top().count > 0 && !top().one_line;
  --depth_;
  if (had) newline();
  put("]");
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view text) {
  before_value();
  put(text);
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  put_string(s);
  return *this;
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
