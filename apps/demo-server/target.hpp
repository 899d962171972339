// Request targets (RFC 9112 §3.2): which form a target has, and the decoded,
// normalised path and query the routes match on.
#pragma once

#include <string>
#include <string_view>

namespace demo {

struct Target {
  bool valid = false;      // false: answer 400
  std::string_view path;   // decoded, dot segments removed, repeated '/' merged
  std::string_view query;  // after '?', percent-decoded except '&', '=', '%', '+'
};

// Parses an origin-form (`/p?q`) or absolute-form (`http://host/p?q`)
// target. Asterisk-form and authority-form targets, and anything else, are
// invalid: this server implements neither OPTIONS * nor CONNECT. The views
// point into `target` when it needs no rewriting, otherwise into `scratch`.
Target parse_target(std::string_view target, std::string& scratch);

// A Host field value (RFC 9110 §7.2: uri-host [":" port]); empty is valid.
bool valid_host(std::string_view host) noexcept;

}  // namespace demo
