// Replaces the global operator new / delete (every form) with malloc/free
// plus a relaxed process-wide increment and a thread-local one. Only
// allocations are counted: a benchmark that allocates per operation shows it
// in allocs_per_op, a wait that allocates shows on its loop's thread.
#include "common/alloc_counter.hpp"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace apps {
namespace {
std::atomic<std::uint64_t> g_allocations{0};
// Constant-initialized, so reading it from operator new needs no TLS
// initializer (and so no allocation of its own).
thread_local std::uint64_t t_allocations = 0;

void count_one() noexcept {
  ++t_allocations;
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}

void* counted_alloc(std::size_t n) {
  count_one();
  if (n == 0) n = 1;
  return std::malloc(n);
}

void* counted_aligned_alloc(std::size_t n, std::size_t align) {
  count_one();
  if (align < sizeof(void*)) align = sizeof(void*);
  void* p = nullptr;
  if (n == 0) n = 1;
#if defined(_WIN32)
  p = _aligned_malloc(n, align);  // Windows has no posix_memalign
#else
  if (posix_memalign(&p, align, n) != 0) p = nullptr;
#endif
  return p;
}

// What the aligned operator deletes free with: Windows needs _aligned_free.
void aligned_free(void* p) noexcept {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}
}  // namespace

std::uint64_t allocation_count() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}

std::uint64_t thread_allocation_count() noexcept {
  return t_allocations;
}

}  // namespace apps

using apps::counted_aligned_alloc;
using apps::counted_alloc;

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned_alloc(n, static_cast<std::size_t>(a));
}

void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  apps::aligned_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  apps::aligned_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  apps::aligned_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  apps::aligned_free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  apps::aligned_free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  apps::aligned_free(p);
}
