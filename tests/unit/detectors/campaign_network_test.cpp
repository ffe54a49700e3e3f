#include <catch2/catch.hpp>

#include "detectors/campaign_network.hpp"
#include "detectors/campaign_format.hpp"

using dg::detectors::network_of;
using dg::detectors::to_string;

TEST_CASE("client networks: IPv4 /24 and configurable prefixes", "[campaign]") {
  CHECK(to_string(network_of("203.0.113.7", 24, 48)) == "203.0.113.0/24");
  CHECK(network_of("203.0.113.7", 24, 48) == network_of("203.0.113.250", 24, 48));
  CHECK_FALSE(network_of("203.0.113.7", 24, 48) == network_of("203.0.114.7", 24, 48));
  CHECK(to_string(network_of("203.0.113.7", 16, 48)) == "203.0.0.0/16");
  CHECK(to_string(network_of("::ffff:198.51.100.9", 24, 48)) == "198.51.100.0/24");
}

TEST_CASE("client networks: IPv6 /48 and /64, brackets and zones", "[campaign]") {
  CHECK(to_string(network_of("2001:db8:1:2::5", 24, 48)) == "2001:db8:1::/48");
  CHECK(to_string(network_of("[2001:db8:1:2::5]", 24, 64)) == "2001:db8:1:2::/64");
  CHECK(network_of("2001:db8:1:2::5", 24, 48) == network_of("2001:db8:1:ffff:1:2:3:4", 24, 48));
  CHECK_FALSE(network_of("2001:db8:1:2::5", 24, 64) == network_of("2001:db8:1:3::5", 24, 64));
  CHECK(to_string(network_of("fe80::1%eth0", 24, 64)) == "fe80:0:0:0::/64");
  CHECK(network_of("::1", 24, 48).valid());
}

TEST_CASE("client networks: invalid addresses are no network", "[campaign]") {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "2001:db8::1::2", "12345::", "hello", ":1:2",
                          "1:2:3:4:5:6:7:8:9", "[::1"})
    CHECK_FALSE(network_of(bad, 24, 48).valid());
  CHECK(network_of("1:2:3:4:5:6:7:8", 24, 48).valid());
}

TEST_CASE("campaign evidence formatting", "[campaign]") {
  using namespace dg::detectors::campaign;
  CHECK(format_utc(1'795'399'200.0) == "2026-11-23 02:00 UTC");
  CHECK(format_utc_time(1'795'399'200.0 + 90) == "02:01 UTC");
  CHECK(with_commas(28'800'000) == "28,800,000");
  CHECK(with_commas(999) == "999");
  CHECK(format_duration(1800) == "30 min");
  CHECK(hex16(255) == "00000000000000ff");
}
