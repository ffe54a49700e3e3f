#pragma once
/// The request id of an exchange: the client's `x-request-id` when it is a
/// sane one (1..128 printable ASCII characters, no space), otherwise a fresh
/// one (32 hex digits, 128 random bits). It goes to the upstream, back to the
/// client, into the access line and the capture record.

#include <string>
#include <string_view>

namespace dg::gateway {

inline constexpr std::size_t kMaxRequestIdBytes = 128;

/// True when `id` may be passed on as it is.
bool sane_request_id(std::string_view id) noexcept;

/// A new id. Per-thread generator (seeded from std::random_device), no lock.
std::string new_request_id();

/// `client_id` when sane, else new_request_id().
std::string request_id_for(std::string_view client_id);

}  // namespace dg::gateway
