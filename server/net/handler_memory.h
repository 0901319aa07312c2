#pragma once

#include <cstddef>
#include <new>

#include <boost/asio/bind_allocator.hpp>

namespace roomcast::net {

// Memory for the operations every idle connection keeps pending (its read
// wait, its heartbeat timer). Asio's default recycles freed blocks of any
// size, so such a long-lived wait often sits in a block left by a far
// larger operation (an HTTP read's); here each size class has its own free
// list per thread, and a pending wait holds just what it needs.
void* AllocateHandlerMemory(size_t bytes);
void FreeHandlerMemory(void* block, size_t bytes);

template <typename T>
struct HandlerAllocator {
  using value_type = T;
  HandlerAllocator() = default;
  template <typename U>
  HandlerAllocator(const HandlerAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(AllocateHandlerMemory(n * sizeof(T))); }
  void deallocate(T* block, size_t n) noexcept { FreeHandlerMemory(block, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HandlerAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename Handler>
auto WithHandlerMemory(Handler&& handler) {
  return boost::asio::bind_allocator(HandlerAllocator<void>(), std::forward<Handler>(handler));
}

}  // namespace roomcast::net
