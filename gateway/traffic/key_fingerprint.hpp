#pragma once
/// API keys are never stored or written in clear: they are named by their
/// fingerprint, "fp:" + the first 16 hex digits of SHA-256(key), or of
/// HMAC-SHA256(salt, key) when a salt is configured (traffic-format.md).

#include <string>
#include <string_view>

namespace dg::gateway {

/// Fingerprint of `key`; `salt` empty means plain SHA-256.
std::string key_fingerprint(std::string_view key, std::string_view salt = {});

/// True when `value` already is a fingerprint ("fp:" + 16 lowercase hex digits).
bool is_fingerprint(std::string_view value) noexcept;

}  // namespace dg::gateway
