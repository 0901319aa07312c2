#pragma once

#include <string>

namespace roomcast::core {

// A fresh random id: 20 characters of base64url (120 bits), like Socket.IO's.
std::string NewId();

// The base64url alphabet, for ids that carry a small number in a character.
inline constexpr std::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace roomcast::core
