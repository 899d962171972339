// A per-thread cache of coroutine frames, by size class.
//
// Frames are carved in 64-byte classes up to 1 KiB; a freed frame goes onto
// the freeing thread's list for its class (at most kMaxCached per class), and
// the next frame of that class on that thread reuses it. Larger frames, and
// everything under a sanitizer (so it can see every use after free), go
// straight to operator new/delete.
#include <new>
#include <sync/task.hpp>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIBSYNC_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LIBSYNC_FRAME_POOL 0
#endif
#endif
// The build may also turn the pool off (LIBSYNC_FRAME_POOL=0; CMake does on
// mingw-w64, whose thread_local cannot support it).
#ifndef LIBSYNC_FRAME_POOL
#define LIBSYNC_FRAME_POOL 1
#endif

namespace libsync::detail {

#if LIBSYNC_FRAME_POOL
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 16;
constexpr unsigned kMaxCached = 256;

struct FreeFrame {
  FreeFrame* next;
};

struct FramePool {
  FreeFrame* heads[kClasses] = {};
  unsigned counts[kClasses] = {};
  ~FramePool();
};

// Trivially destructible, so it can still be read after the pool is gone
// (frames freed late in thread or process exit).
thread_local bool t_pool_gone = false;
thread_local FramePool t_pool;

FramePool::~FramePool() {
  for (auto& head : heads) {
    while (head) {
      FreeFrame* f = head;
      head = f->next;
      ::operator delete(f);
    }
  }
  t_pool_gone = true;
}

std::size_t size_class(std::size_t n) {
  return (n + kGranule - 1) / kGranule - 1;
}

}  // namespace

// A frame of a class is always a whole class, even one made after this
// thread's cache is gone: it may be freed on a thread whose cache is still
// there, and join its class like any other.
void* frame_allocate(std::size_t n) {
  std::size_t c = size_class(n);
  if (c < kClasses) {
    if (!t_pool_gone) {
      if (FreeFrame* f = t_pool.heads[c]) {
        t_pool.heads[c] = f->next;
        --t_pool.counts[c];
        return f;
      }
    }
    return ::operator new((c + 1) * kGranule);
  }
  return ::operator new(n);
}

void frame_deallocate(void* p, std::size_t n) noexcept {
  std::size_t c = size_class(n);
  if (c < kClasses && !t_pool_gone && t_pool.counts[c] < kMaxCached) {
    auto* f = static_cast<FreeFrame*>(p);
    f->next = t_pool.heads[c];
    t_pool.heads[c] = f;
    ++t_pool.counts[c];
    return;
  }
  ::operator delete(p);
}
#else
void* frame_allocate(std::size_t n) {
  return ::operator new(n);
}
void frame_deallocate(void* p, std::size_t) noexcept {
  ::operator delete(p);
}
#endif

}  // namespace libsync::detail
