// Readiness and stopping notices to a service manager (systemd's
// Type=notify): one datagram per notice to the AF_UNIX socket named by
// $NOTIFY_SOCKET, as sd_notify(3) describes, without linking libsystemd.
// Without $NOTIFY_SOCKET it does nothing.
#pragma once

#include <string_view>

namespace demo {

// Sends `state` (e.g. "READY=1\nMAINPID=123"). False when there is a
// socket to tell and sending failed.
bool notify_service_manager(std::string_view state);

}  // namespace demo
