#include "gateway/http/header_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>

namespace dg::gateway {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

using boost::beast::iequals;  // ASCII case-insensitive, as header names and tokens compare

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_trusted(std::string_view ip, const std::vector<config::Cidr>& trusted) {
  if (trusted.empty()) return false;
  std::array<std::uint8_t, 16> bytes{};
  if (!config::parse_ip(ip, bytes)) return false;
  return std::any_of(trusted.begin(), trusted.end(), [&](const config::Cidr& c) { return c.contains(bytes); });
}

/// Strips an optional port and IPv6 brackets from an X-Forwarded-For entry.
std::string_view bare_address(std::string_view entry) {
  entry = trim(entry);
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    return close == std::string_view::npos ? entry : entry.substr(1, close - 1);
  }
  // a.b.c.d:port (exactly one colon); IPv6 without brackets has several.
  if (std::count(entry.begin(), entry.end(), ':') == 1) return entry.substr(0, entry.find(':'));
  return entry;
}

}  // namespace

void strip_hop_framing(http::fields& fields) {
  strip_hop_by_hop(fields);
  fields.erase(http::field::content_length);
}

void strip_hop_by_hop(http::fields& fields) {
  // RFC 9110 §7.6.1: the Connection header lists further per-hop fields.
  std::vector<std::string> named;
  const auto [first, last] = fields.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      const auto comma = v.find(',');
      const auto token = trim(v.substr(0, comma));
      if (!token.empty()) named.emplace_back(token);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  for (const auto& name : named) fields.erase(name);
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::te, http::field::trailer,
                 http::field::transfer_encoding, http::field::upgrade})
    fields.erase(f);
  for (auto it = fields.begin(); it != fields.end();) {
    if (istarts_with(it->name_string(), "proxy-")) it = fields.erase(it);
    else ++it;
  }
}

Forwarding resolve_forwarding(std::string_view peer_ip, std::string_view xff, std::string_view xfp,
                              const std::vector<config::Cidr>& trusted) {
  Forwarding out;
  out.peer_trusted = is_trusted(peer_ip, trusted);
  out.client_ip = std::string(peer_ip);
  out.x_forwarded_proto = "http";
  if (!out.peer_trusted || trim(xff).empty()) {
    // An untrusted peer's forwarding headers are its own claims: replaced.
    out.x_forwarded_for = std::string(peer_ip);
    if (out.peer_trusted && !trim(xfp).empty()) out.x_forwarded_proto = std::string(trim(xfp));
    return out;
  }
  // Walk the chain right to left; the first address not in a trusted block is
  // the client (every hop to its right vouched for it).
  std::vector<std::string_view> chain;
  std::string_view rest = xff;
  while (true) {
    const auto comma = rest.find(',');
    const auto entry = bare_address(rest.substr(0, comma));
    if (!entry.empty()) chain.push_back(entry);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::string_view client = chain.empty() ? peer_ip : chain.front();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    std::array<std::uint8_t, 16> bytes{};
    if (!config::parse_ip(*it, bytes)) {  // garbage in the chain: stop believing here
      client = it == chain.rbegin() ? peer_ip : *(it - 1);
      break;
    }
    client = *it;
    if (!is_trusted(*it, trusted)) break;
  }
  out.client_ip = std::string(client);
  out.x_forwarded_for = std::string(trim(xff)) + ", " + std::string(peer_ip);
  if (!trim(xfp).empty()) out.x_forwarded_proto = std::string(trim(xfp));
  return out;
}

void apply_forwarding(http::fields& fields, const Forwarding& fwd) {
  fields.set("X-Forwarded-For", fwd.x_forwarded_for);
  fields.set("X-Forwarded-Proto", fwd.x_forwarded_proto);
  if (!fwd.peer_trusted) {
    fields.erase(http::field::forwarded);
    fields.erase("X-Real-IP");
    fields.erase("X-Forwarded-Host");
  }
}

namespace {

constexpr std::array<std::string_view, 3> kCredentialHeaders{"authorization", "api-key", "x-api-key"};

bool listed(std::string_view name, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return iequals(n, name); });
}

/// The credential in one header value: a Bearer token, or the whole value of
/// another Authorization scheme (the upstream may accept it).
std::string_view credential_of(std::string_view header, std::string_view value) {
  value = trim(value);
  if (iequals(header, "authorization") && istarts_with(value, "bearer ")) return trim(value.substr(7));
  if (iequals(header, "authorization") && iequals(value, "bearer")) return {};
  return value;
}

}  // namespace

Identity resolve_identity(const http::fields& fields, const std::vector<std::string>& key_headers,
                          std::string_view tenant_header) {
  Identity id;
  const auto [cfirst, clast] = fields.equal_range(http::field::connection);
  for (auto it = cfirst; it != clast; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      const auto comma = v.find(',');
      const auto token = trim(v.substr(0, comma));
      if (listed(token, key_headers) || (!tenant_header.empty() && iequals(token, tenant_header))) {
        id.error = IdentityError::ConnectionNamesIdentity;
        id.header = token;
        return id;
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  for (const auto& name : key_headers) {
    const auto [first, last] = fields.equal_range(name);
    if (first == last) continue;
    if (std::next(first) != last) {
      id.error = IdentityError::Ambiguous;
      id.header = first->name_string();
      return id;
    }
    const auto key = credential_of(name, first->value());
    if (key.empty()) continue;
    // A comma joins field lines (RFC 9110 §5.3): "Bearer A, Bearer B" is two
    // credentials in one line, and no key holds one.
    if (key.find(',') != std::string_view::npos || (!id.key.empty() && key != id.key)) {
      id.error = IdentityError::Ambiguous;
      id.header = first->name_string();
      id.key = {};
      return id;
    }
    id.key = key;
  }
  return id;
}

void strip_unlisted_credentials(http::fields& fields, const std::vector<std::string>& key_headers) {
  for (const auto name : kCredentialHeaders)
    if (!listed(name, key_headers)) fields.erase(name);
}

}  // namespace dg::gateway
