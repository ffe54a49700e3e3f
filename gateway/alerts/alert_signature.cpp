#include "gateway/alerts/alert_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace dg::gateway {

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::string sign_alert(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string data;
  data.reserve(timestamp.size() + 1 + body.size());
  data.append(timestamp).push_back('.');
  data.append(body);
  return "v1=" + hmac_sha256_hex(secret, data);
}

bool verify_alert_signature(std::string_view secret, std::string_view timestamp, std::string_view body,
                            std::string_view header) {
  const std::string expected = sign_alert(secret, timestamp, body);
  bool ok = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == expected.size() && CRYPTO_memcmp(item.data(), expected.data(), item.size()) == 0) ok = true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return ok;
}

}  // namespace dg::gateway
