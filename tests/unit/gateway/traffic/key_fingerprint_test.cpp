#include <catch2/catch.hpp>

#include "gateway/traffic/key_fingerprint.hpp"

using dg::gateway::is_fingerprint;
using dg::gateway::key_fingerprint;

TEST_CASE("key fingerprints are SHA-256 prefixes", "[identity]") {
  // printf 'sk-test' | sha256sum -> 6d0ae1d8...
  CHECK(key_fingerprint("sk-test").size() == 19);
  CHECK(key_fingerprint("") == "fp:e3b0c44298fc1c14");  // SHA-256 of the empty string
  CHECK(key_fingerprint("abc") == "fp:ba7816bf8f01cfea");
  CHECK(key_fingerprint("abc") != key_fingerprint("abd"));
}

TEST_CASE("salted fingerprints use HMAC-SHA256 and differ from plain ones", "[identity]") {
  // HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog") = f7bc83f4...
  CHECK(key_fingerprint("The quick brown fox jumps over the lazy dog", "key") == "fp:f7bc83f430538424");
  CHECK(key_fingerprint("abc", "salt") != key_fingerprint("abc"));
}

TEST_CASE("is_fingerprint accepts only fp: plus 16 lowercase hex digits", "[identity]") {
  CHECK(is_fingerprint("fp:ba7816bf8f01cfea"));
  CHECK_FALSE(is_fingerprint("fp:ba7816bf8f01cfe"));
  CHECK_FALSE(is_fingerprint("fp:BA7816BF8F01CFEA"));
  CHECK_FALSE(is_fingerprint("sk-ba7816bf8f01cfea"));
}
