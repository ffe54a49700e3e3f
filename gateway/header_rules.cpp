#include "gateway/header_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace dg::gateway {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

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

std::string_view extract_api_key(const http::fields& fields, const std::vector<std::string>& header_order) {
  for (const auto& name : header_order) {
    const auto it = fields.find(name);
    if (it == fields.end()) continue;
    auto value = trim(it->value());
    if (iequals(name, "authorization")) {
      if (!istarts_with(value, "bearer ")) continue;
      value = trim(value.substr(7));
    }
    if (!value.empty()) return value;
  }
  return {};
}

}  // namespace dg::gateway
