// Number formatting helpers.
#include "format.hpp"

#include <cmath>
#include <cstdio>

#include "common/json_writer.hpp"

namespace syncbench {

namespace {
std::string three_digits(double v, const char* unit) {
  char buf[48];
  if (v >= 100)
    std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
  else if (v >= 10)
    std::snprintf(buf, sizeof buf, "%.1f %s", v, unit);
  else
    std::snprintf(buf, sizeof buf, "%.2f %s", v, unit);
  return buf;
}
}  // namespace

std::string format_ns(double ns) {
  if (!std::isfinite(ns)) return "-";
  if (ns < 1e3) return three_digits(ns, "ns");
  if (ns < 1e6) return three_digits(ns / 1e3, "us");
  if (ns < 1e9) return three_digits(ns / 1e6, "ms");
  return three_digits(ns / 1e9, "s");
}

std::string format_rate(double r) {
  if (!std::isfinite(r)) return "-";
  char buf[32];
  if (r >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", r / 1e9);
  else if (r >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else if (r >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

std::string format_fixed(std::optional<double> v, int decimals) {
  if (!v || !std::isfinite(*v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

std::string format_ratio(double r) {
  if (!std::isfinite(r)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, r >= 0.1 ? "%.2fx" : r >= 0.01 ? "%.3fx" : "%.4fx", r);
  return buf;
}

std::string format_number(double v) {
  return apps::json_number(v);
}

}  // namespace syncbench
