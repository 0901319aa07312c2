#include "server/base/ids.h"

#include <random>

#include "absl/random/random.h"

namespace roomcast::base {

std::string NewId() {
  thread_local absl::BitGen gen;
  std::string id(kIdLength, ' ');
  for (char& c : id) {
    c = kIdAlphabet[absl::Uniform<size_t>(gen, 0, kIdAlphabet.size())];
  }
  return id;
}

}  // namespace roomcast::base
