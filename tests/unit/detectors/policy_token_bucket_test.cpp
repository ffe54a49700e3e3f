#include <catch2/catch.hpp>

#include "detectors/token_bucket.hpp"

using dg::detectors::TokenBucket;

TEST_CASE("token bucket: burst, refill and retry time with fake time", "[policy][token_bucket]") {
  double now = 1000;
  TokenBucket b(3, 0.5, now);  // 3 burst, 1 token every 2 s
  CHECK(b.consume(now));
  CHECK(b.consume(now));
  CHECK(b.consume(now));
  CHECK_FALSE(b.consume(now));
  CHECK(b.remaining(now) == 0);
  CHECK(b.next_token_available(now) == Approx(2.0));
  CHECK(b.seconds_until_full(now) == Approx(6.0));

  now += 1.0;
  CHECK_FALSE(b.consume(now));
  CHECK(b.next_token_available(now) == Approx(1.0));
  now += 1.0;
  CHECK(b.consume(now));
  CHECK_FALSE(b.consume(now));

  now += 100;  // never more than the burst
  CHECK(b.remaining(now) == 3);
}

TEST_CASE("token bucket: time going backwards refunds nothing", "[policy][token_bucket]") {
  TokenBucket b(1, 1, 10);
  CHECK(b.consume(10));
  CHECK_FALSE(b.consume(5));
  CHECK_FALSE(b.consume(10.5));
  CHECK(b.consume(11));
}
