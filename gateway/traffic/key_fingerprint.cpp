#include "gateway/traffic/key_fingerprint.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>

namespace dg::gateway {

std::string key_fingerprint(std::string_view key, std::string_view salt) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  if (salt.empty()) {
    SHA256(data, key.size(), digest.data());
    len = SHA256_DIGEST_LENGTH;
  } else {
    HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()), data, key.size(), digest.data(), &len);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "fp:";
  for (unsigned i = 0; i < 8 && i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

bool is_fingerprint(std::string_view value) noexcept {
  if (value.size() != 19 || !value.starts_with("fp:")) return false;
  for (char c : value.substr(3))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace dg::gateway
