#pragma once
/// Webhook signatures: HMAC-SHA256(secret, timestamp + "." + body), sent as
///   X-DistillGuard-Timestamp: <Unix seconds>
///   X-DistillGuard-Signature: v1=<64 lowercase hex>
/// Receivers recompute it over the raw body and reject stale timestamps
/// (docs/alerts.md has snippets in Python, Node and openssl).

#include <cstdint>
#include <string>
#include <string_view>

namespace dg::gateway {

inline constexpr std::string_view kTimestampHeader = "X-DistillGuard-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-DistillGuard-Signature";

/// Lowercase hex of HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// The header value "v1=<hex>" for this timestamp and body.
std::string sign_alert(std::string_view secret, std::string_view timestamp, std::string_view body);

/// True when `header` (one or more comma-separated "v1=<hex>" entries, so that
/// secrets can rotate) holds a valid signature; compares in constant time.
bool verify_alert_signature(std::string_view secret, std::string_view timestamp, std::string_view body,
                            std::string_view header);

}  // namespace dg::gateway
