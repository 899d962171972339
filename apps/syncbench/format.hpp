// Number formatting shared by the table and HTML writers: durations with a
// unit that keeps three significant digits, rates with k/M suffixes.
#pragma once

#include <optional>
#include <string>

namespace syncbench {

// 0.84 -> "0.84 ns", 1234 -> "1.23 us", 4.2e6 -> "4.20 ms". ASCII "us" so
// that column widths are byte widths.
std::string format_ns(double ns);
// 1234567 -> "1.23M", 950 -> "950".
std::string format_rate(double per_second);
// Fixed decimals; "-" for an empty optional.
std::string format_fixed(std::optional<double> v, int decimals);
// A ratio with enough digits to stay informative when small: "1.23x",
// "0.052x", "0.0026x".
std::string format_ratio(double r);
// Shortest round-trip-ish text for JSON/CSV ("1.5", "0.000123", "12345678"):
// the JSON writer's json_number, so the CSV and JSON reports agree.
std::string format_number(double v);

}  // namespace syncbench
