/// \file
/// Kept so that code written against libsync 0.1, which found WaitStatus
/// here, still compiles: include <sync/wait_status.hpp> instead. The waiter
/// queue itself is internal now (sync/detail/waiter_queue.hpp).
#pragma once

#include <sync/wait_status.hpp>
