#include "gateway/fleet/counter_wire.hpp"

#include <openssl/evp.h>

#include <cmath>

namespace dg::gateway::fleet {

namespace {

/// Sums with tonumber: a field another version wrote as text that is not a
/// number counts as 0 rather than failing the whole batch.
constexpr const char* kCounterScript = R"lua(
local me = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local own = ARGV[2 * i]
  if own ~= '' then
    redis.call('HSET', KEYS[i], me, own)
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])
  end
  local s = 0
  local all = redis.call('HGETALL', KEYS[i])
  for j = 1, #all, 2 do
    if all[j] ~= me then s = s + (tonumber(all[j + 1]) or 0) end
  end
  out[i] = s
end
return out
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

std::int64_t counter_window_index(double now, double window_s) noexcept {
  return static_cast<std::int64_t>(std::floor(now / window_s));
}

std::string counter_key(std::string_view prefix, CounterKind kind, std::string_view key_fp, double window_s,
                        std::int64_t index) {
  std::string k(prefix);
  k += kind == CounterKind::Throttle ? ":cnt:t:" : ":cnt:b:";
  k += key_fp;
  k += ':';
  k += std::to_string(static_cast<std::int64_t>(std::llround(window_s * 1000)));
  k += ':';
  k += std::to_string(index);
  return k;
}

const std::string& counter_script() {
  static const std::string s(kCounterScript);
  return s;
}

const std::string& counter_script_sha() {
  static const std::string s = sha1_hex(counter_script());
  return s;
}

std::vector<std::string> counter_command(std::string_view instance, const std::vector<CounterUpdate>& batch,
                                         bool by_sha) {
  std::vector<std::string> args;
  args.reserve(4 + 3 * batch.size());
  args.emplace_back(by_sha ? "EVALSHA" : "EVAL");
  args.push_back(by_sha ? counter_script_sha() : counter_script());
  args.push_back(std::to_string(batch.size()));
  for (const auto& u : batch) args.push_back(u.key);
  args.emplace_back(instance);
  for (const auto& u : batch) {
    args.push_back(u.own < 0 ? std::string() : std::to_string(u.own));
    args.push_back(std::to_string(u.ttl_ms));
  }
  return args;
}

}  // namespace dg::gateway::fleet
