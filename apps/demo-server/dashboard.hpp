// Dashboard: the self-contained HTML page served at `/`.
//
// The page (dashboard.html next to this file, embedded at build time) has no
// external resources: inline CSS, inline JavaScript and SVG charts. It polls
// /stats once per stats tick and redraws request rate, latency (p50/p99),
// permits in use / available and waiters per semaphore, connections and
// cross-loop wakes, using the tick history /stats returns so the charts are
// filled from the first poll.
#pragma once

#include <string_view>

namespace demo {

std::string_view dashboard_html() noexcept;

}  // namespace demo
