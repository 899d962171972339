/// \file
/// Task<T>: a lazy C++20 coroutine that produces a T.
///
/// A task does nothing until it is awaited (or handed to Loop::spawn /
/// Loop::block_on). Awaiting a task starts it with symmetric transfer, so deep
/// chains of `co_await child()` use no stack; when the child finishes it
/// transfers straight back to its awaiter. An exception thrown inside a task is
/// stored and rethrown from the awaiter's `co_await`.
///
/// A task runs on the loop of whoever awaited it: it has no scheduler of its
/// own. Dropping a Task that was started but is suspended destroys its frame,
/// which runs the destructors of whatever it was awaiting (a semaphore waiter
/// removes itself from its queue, a pending I/O operation is cancelled).
/// Those destructors reach the loop the task ran on, so a started Task must
/// not outlive that loop: ~Loop destroys the tasks it runs, but not a Task
/// object held elsewhere (say, awaited as `co_await std::move(t)` by a task
/// the loop then destroyed, or kept in a container); destroy such a Task, or
/// let it finish, before its loop goes.
///
/// Coroutine frames come from a small per-thread cache of freed frames, so a
/// task created and finished over and over reaches malloc only while the
/// cache warms; calling a task function may throw std::bad_alloc.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <sync/export.hpp>
#include <type_traits>
#include <utility>
#include <variant>

namespace libsync {

template <class T = void>
class Task;

namespace detail {

// Coroutine frames come from a small per-thread cache of freed frames
// (frame_pool.cpp), so a task that is created and finished over and over (a
// request handler, a Condvar wait) reaches malloc only while the cache warms.
LIBSYNC_API void* frame_allocate(std::size_t n);
LIBSYNC_API void frame_deallocate(void* p, std::size_t n) noexcept;

class LIBSYNC_API TaskPromiseBase {
 public:
  static void* operator new(std::size_t n) { return frame_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_deallocate(p, n); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto next = h.promise().continuation_;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 private:
  std::coroutine_handle<> continuation_;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { result_.template emplace<1>(std::forward<U>(v)); }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  T take() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
class LIBSYNC_API TaskPromise<void> final : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void take() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

/// A lazy coroutine producing a T (or nothing, for Task<void>): the return
/// type of a coroutine that uses co_await / co_return.
///
/// [[nodiscard]]: a Task that is dropped unawaited never runs. A Task owns
/// its coroutine frame: destroying the Task destroys the frame (never
/// destroy a Task from inside its own running coroutine). Movable, not
/// copyable, and not thread-safe: the frame runs on the thread that resumes
/// it, which for libsync's awaitables is the awaiting task's loop thread.
/// \tparam T what `co_await task` yields; void by default.
template <class T>
class [[nodiscard]] Task {
 public:
  /// The coroutine promise; lets a function returning Task<T> be a coroutine.
  using promise_type = detail::TaskPromise<T>;
  /// The frame's handle type, as taken by the constructor and release().
  using handle_type = std::coroutine_handle<promise_type>;

  /// An empty task (valid() is false); awaiting it is undefined.
  Task() noexcept = default;
  /// Adopts the frame `h` (as the promise does); the Task now destroys it.
  explicit Task(handle_type h) noexcept : h_(h) {}
  /// Takes over `o`'s frame; `o` is left empty.
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  /// Destroys this task's own frame, if any, then takes over `o`'s.
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  /// Destroys the frame: a task that never started simply goes away; one
  /// suspended in a wait runs the destructors of what it awaits (a queued
  /// semaphore waiter leaves the queue, handing on anything it was given).
  ~Task() {
    if (h_) h_.destroy();
  }

  /// True while the Task owns a frame (not default-constructed, moved from
  /// or released).
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// True once the coroutine has finished (returned or thrown).
  bool done() const noexcept { return h_ && h_.done(); }

  /// `co_await std::move(task)` (or `co_await make_task()`): starts the
  /// task on the awaiting coroutine's thread by symmetric transfer and
  /// resumes the awaiter when it finishes, yielding its co_return value or
  /// rethrowing its exception. A task that is already done yields its result
  /// without suspending. Await a task once; the Task still owns the frame
  /// and destroys it when it goes away.
  auto operator co_await() && noexcept {
    struct Awaiter {
      handle_type h;
      bool await_ready() const noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().set_continuation(awaiting);
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return Awaiter{h_};
  }

  /// For runtimes: hands over the raw frame handle and leaves the Task
  /// empty; the caller must destroy the frame.
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  handle_type h_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace libsync
