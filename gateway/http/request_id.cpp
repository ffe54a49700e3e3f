#include "gateway/http/request_id.hpp"

#include <algorithm>
#include <random>

namespace dg::gateway {

bool sane_request_id(std::string_view id) noexcept {
  // Printable ASCII without space: nothing that could split a log field or
  // a header, and a length an operator can paste.
  return !id.empty() && id.size() <= kMaxRequestIdBytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = rng();
    for (int i = 0; i < 16; ++i, bits >>= 4) out[static_cast<std::size_t>(half * 16 + i)] = kHex[bits & 15];
  }
  return out;
}

std::string request_id_for(std::string_view client_id) {
  return sane_request_id(client_id) ? std::string(client_id) : new_request_id();
}

}  // namespace dg::gateway
