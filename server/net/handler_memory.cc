#include "server/net/handler_memory.h"

#include <array>
#include <cstdlib>

namespace roomcast::net {
namespace {

constexpr size_t kGranule = 32;
constexpr size_t kClasses = 16;  // up to 512 bytes; larger go to malloc

struct FreeBlock {
  FreeBlock* next;
};

struct FreeLists {
  std::array<FreeBlock*, kClasses> heads{};
  ~FreeLists() {
    for (FreeBlock* head : heads) {
      while (head != nullptr) {
        FreeBlock* next = head->next;
        std::free(head);
        head = next;
      }
    }
  }
};

thread_local FreeLists free_lists;

size_t ClassOf(size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

}  // namespace

void* AllocateHandlerMemory(size_t bytes) {
  const size_t size_class = ClassOf(bytes);
  if (size_class >= kClasses) {
    return ::operator new(bytes);
  }
  if (FreeBlock* block = free_lists.heads[size_class]) {
    free_lists.heads[size_class] = block->next;
    return block;
  }
  void* block = std::malloc((size_class + 1) * kGranule);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void FreeHandlerMemory(void* block, size_t bytes) {
  const size_t size_class = ClassOf(bytes);
  if (size_class >= kClasses) {
    ::operator delete(block);
    return;
  }
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = free_lists.heads[size_class];
  free_lists.heads[size_class] = free_block;
}

}  // namespace roomcast::net
