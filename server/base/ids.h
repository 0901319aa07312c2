#pragma once

#include <string>
#include <string_view>

namespace roomcast::base {

// A fresh random id: 15 characters of base64url (90 bits). Socket.IO's are
// 20; 15 fit in a std::string without a heap block, and ids are kept
// several times per connection (session, socket, room index, maps).
inline constexpr size_t kIdLength = 15;
std::string NewId();

// The base64url alphabet, for ids that carry a small number in a character.
inline constexpr std::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace roomcast::base
