// Does this compiler diagnose a dropped co_await result whose type is
// [[nodiscard]]? (g++ 12 does not; clang does.) Compiled with
// -Werror=unused-result: failing to build means it does.
#include <coroutine>

struct [[nodiscard]] Result {};
struct Ready {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  [[nodiscard]] Result await_resume() const noexcept { return {}; }
};
struct Co {
  struct promise_type {
    Co get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
};
Co dropped() {
  co_await Ready{};
}
int main() {
  dropped();
}
