#include <catch2/catch.hpp>

#include <boost/beast/http/fields.hpp>

#include "gateway/http/header_rules.hpp"
#include "gateway/traffic/key_fingerprint.hpp"

namespace http = boost::beast::http;
using namespace dg::gateway;

namespace {
std::vector<dg::config::Cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<dg::config::Cidr> out;
  for (auto t : texts) {
    dg::config::Cidr c;
    REQUIRE(dg::config::parse_cidr(t, c));
    out.push_back(c);
  }
  return out;
}
}  // namespace

TEST_CASE("hop-by-hop headers are removed, including those named by Connection", "[unit][headers]") {
  http::fields f;
  f.set("Connection", "keep-alive, X-Hop-A,x-hop-b");
  f.set("X-Hop-A", "1");
  f.set("X-Hop-B", "2");
  f.set("Keep-Alive", "timeout=5");
  f.set("TE", "trailers");
  f.set("Trailer", "X-Checksum");
  f.set("Transfer-Encoding", "chunked");
  f.set("Upgrade", "websocket");
  f.set("Proxy-Connection", "keep-alive");
  f.set("Proxy-Authorization", "Basic x");
  f.set("Authorization", "Bearer sk-1");
  f.set("Content-Type", "application/json");
  strip_hop_by_hop(f);
  std::vector<std::string> left;
  for (const auto& h : f) left.emplace_back(h.name_string());
  CHECK(left == std::vector<std::string>{"Authorization", "Content-Type"});
}

TEST_CASE("forwarding: an untrusted peer's X-Forwarded-For is replaced", "[unit][headers][xff]") {
  const auto fwd = resolve_forwarding("203.0.113.9", "1.1.1.1", "https", cidrs({"10.0.0.0/8"}));
  CHECK_FALSE(fwd.peer_trusted);
  CHECK(fwd.client_ip == "203.0.113.9");
  CHECK(fwd.x_forwarded_for == "203.0.113.9");
  CHECK(fwd.x_forwarded_proto == "http");
}

TEST_CASE("forwarding: a trusted chain is walked from the right to the first untrusted hop", "[unit][headers][xff]") {
  const auto trusted = cidrs({"10.0.0.0/8", "fd00::/8"});
  auto fwd = resolve_forwarding("10.0.0.2", "198.51.100.1, 203.0.113.5, 10.1.2.3", "https", trusted);
  CHECK(fwd.peer_trusted);
  CHECK(fwd.client_ip == "203.0.113.5");  // 198.51.100.1 is only what 203.0.113.5 claimed
  CHECK(fwd.x_forwarded_for == "198.51.100.1, 203.0.113.5, 10.1.2.3, 10.0.0.2");
  CHECK(fwd.x_forwarded_proto == "https");
  // Ports and IPv6 brackets in entries; an IPv6 trusted peer.
  fwd = resolve_forwarding("fd00::1", "[2001:db8::7]:4711", "", trusted);
  CHECK(fwd.client_ip == "2001:db8::7");
  fwd = resolve_forwarding("10.0.0.2", "192.0.2.4:5555", "", trusted);
  CHECK(fwd.client_ip == "192.0.2.4");
  // All hops trusted: the left-most one is the client.
  fwd = resolve_forwarding("10.0.0.2", "10.9.9.9", "", trusted);
  CHECK(fwd.client_ip == "10.9.9.9");
  // Garbage in the chain stops belief at the last good hop.
  fwd = resolve_forwarding("10.0.0.2", "evil, 10.3.3.3", "", trusted);
  CHECK(fwd.client_ip == "10.3.3.3");
  // A trusted peer with no header is itself the client.
  fwd = resolve_forwarding("10.0.0.2", "", "", trusted);
  CHECK(fwd.client_ip == "10.0.0.2");
  CHECK(fwd.x_forwarded_for == "10.0.0.2");
}

TEST_CASE("forwarding headers applied, spoofable ones dropped from untrusted peers", "[unit][headers][xff]") {
  http::fields f;
  f.set("X-Real-IP", "1.2.3.4");
  f.set("Forwarded", "for=1.2.3.4");
  apply_forwarding(f, resolve_forwarding("203.0.113.9", "", "", {}));
  CHECK(f["X-Forwarded-For"] == "203.0.113.9");
  CHECK(f["X-Forwarded-Proto"] == "http");
  CHECK(f.find("X-Real-IP") == f.end());
  CHECK(f.find("Forwarded") == f.end());
}

TEST_CASE("CIDR parsing and matching", "[unit][headers][cidr]") {
  dg::config::Cidr c;
  CHECK(dg::config::parse_cidr("192.168.1.77/24", c));
  std::array<std::uint8_t, 16> ip{};
  REQUIRE(dg::config::parse_ip("192.168.1.200", ip));
  CHECK(c.contains(ip));
  REQUIRE(dg::config::parse_ip("192.168.2.1", ip));
  CHECK_FALSE(c.contains(ip));
  REQUIRE(dg::config::parse_ip("::ffff:192.168.1.3", ip));  // v4-mapped matches the v4 block
  CHECK(c.contains(ip));
  CHECK(dg::config::parse_cidr("0.0.0.0/0", c));
  REQUIRE(dg::config::parse_ip("8.8.8.8", ip));
  CHECK(c.contains(ip));
  CHECK(dg::config::parse_cidr("2001:db8::/32", c));
  REQUIRE(dg::config::parse_ip("2001:db8:1::1", ip));
  CHECK(c.contains(ip));
  CHECK_FALSE(dg::config::parse_cidr("10.0.0.0/33", c));
  CHECK_FALSE(dg::config::parse_cidr("10.0.0/8", c));
  CHECK_FALSE(dg::config::parse_cidr("10.0.0.0/", c));
  CHECK_FALSE(dg::config::parse_cidr("banana", c));
}

TEST_CASE("identity: the key comes from Bearer, api-key or x-api-key", "[unit][identity]") {
  const std::vector<std::string> all{"authorization", "api-key", "x-api-key"};
  http::fields f;
  CHECK(resolve_identity(f, all).key.empty());
  CHECK(resolve_identity(f, all).error == IdentityError::None);
  f.set("x-api-key", "sk-ant-3");
  CHECK(resolve_identity(f, all).key == "sk-ant-3");
  f.set("api-key", "sk-ant-3");  // the same key twice names one key
  CHECK(resolve_identity(f, all).key == "sk-ant-3");
  f.set("Authorization", "bearer   sk-ant-3  ");
  CHECK(resolve_identity(f, all).key == "sk-ant-3");
  CHECK(resolve_identity(f, all).error == IdentityError::None);
  f.set("Authorization", "Bearer ");  // an empty Bearer names nothing
  CHECK(resolve_identity(f, all).key == "sk-ant-3");
  http::fields g;
  g.set("Authorization", "Bearer sk-1");
  CHECK(resolve_identity(g, {"authorization"}).key == "sk-1");
  CHECK(resolve_identity(g, {"x-api-key"}).key.empty());  // not a configured identity header
}

TEST_CASE("identity: two different credentials are ambiguous, never chosen by order", "[unit][identity]") {
  const std::vector<std::string> all{"authorization", "api-key", "x-api-key"};
  http::fields f;
  f.set("x-api-key", "sk-blocked");
  f.set("Authorization", "Bearer DUMMY");
  auto id = resolve_identity(f, all);
  CHECK(id.error == IdentityError::Ambiguous);
  CHECK(id.key.empty());
  // Another scheme is a credential too: the upstream may accept it.
  f.set("Authorization", "Basic dXNlcjpwYXNz");
  CHECK(resolve_identity(f, all).error == IdentityError::Ambiguous);
  // A repeated identity header, even with equal values.
  http::fields g;
  g.insert("Authorization", "Bearer sk-1");
  g.insert("Authorization", "Bearer sk-1");
  CHECK(resolve_identity(g, all).error == IdentityError::Ambiguous);
  // Two credentials joined in one field line, in any identity header.
  http::fields h;
  h.set("Authorization", "Bearer sk-1, Bearer sk-2");
  CHECK(resolve_identity(h, all).error == IdentityError::Ambiguous);
  CHECK(resolve_identity(h, all).key.empty());
  http::fields k;
  k.set("x-api-key", "sk-1,sk-2");
  CHECK(resolve_identity(k, all).error == IdentityError::Ambiguous);
}

TEST_CASE("identity: a Connection header may not name an identity header", "[unit][identity]") {
  const std::vector<std::string> all{"authorization", "api-key", "x-api-key"};
  http::fields f;
  f.set("x-api-key", "sk-blocked");
  f.set("Connection", "keep-alive, Authorization");
  auto id = resolve_identity(f, all);
  CHECK(id.error == IdentityError::ConnectionNamesIdentity);
  CHECK(id.header == "Authorization");
  f.set("Connection", "x-tenant");
  CHECK(resolve_identity(f, all, "X-Tenant").error == IdentityError::ConnectionNamesIdentity);
  f.set("Connection", "keep-alive");
  CHECK(resolve_identity(f, all, "X-Tenant").key == "sk-blocked");
}

TEST_CASE("identity: credential headers that are not identity headers are not forwarded", "[unit][identity]") {
  http::fields f;
  f.set("Authorization", "Bearer sk-1");
  f.set("x-api-key", "sk-2");
  f.set("api-key", "sk-3");
  strip_unlisted_credentials(f, {"authorization"});
  CHECK(f["authorization"] == "Bearer sk-1");
  CHECK(f.find("x-api-key") == f.end());
  CHECK(f.find("api-key") == f.end());
}

TEST_CASE("identity: fingerprints never contain the key", "[unit][identity]") {
  const auto fp = key_fingerprint("sk-live-secret");
  CHECK(is_fingerprint(fp));
  CHECK(fp.find("secret") == std::string::npos);
  CHECK(key_fingerprint("sk-live-secret", "salt") != fp);
}
