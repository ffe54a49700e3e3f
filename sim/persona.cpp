#include "sim/persona.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace dg::sim {

namespace json = boost::json;

std::string_view to_string(KeyClass c) noexcept {
  switch (c) {
    case KeyClass::Benign: return "benign";
    case KeyClass::Lookalike: return "lookalike";
    case KeyClass::Distiller: return "distiller";
    case KeyClass::Campaign: return "campaign";
  }
  return "benign";
}

SimRecord ClientIdentity::start_record(double ts, Rng& rng) const {
  SimRecord r;
  r.ts = ts;
  r.key = key;
  r.client_ip = pick_ip(rng);
  r.user_agent = user_agent;
  return r;
}

const std::string& ClientIdentity::pick_ip(Rng& rng) const {
  static const std::string kNone;
  if (ips.empty()) return kNone;
  if (ips.size() == 1 || rng.chance(0.8)) return ips.front();
  return ips[1 + rng.index(ips.size() - 1)];
}

std::string make_api_key(Rng& rng) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string key = "sk-sim-";
  for (int i = 0; i < 40; ++i) key.push_back(kAlphabet[rng.index(62)]);
  return key;
}

std::string random_public_ipv4(Rng& rng) {
  for (;;) {
    const auto a = static_cast<int>(rng.between(1, 223));
    const auto b = static_cast<int>(rng.between(0, 255));
    if (a == 10 || a == 127 || a == 0 || (a == 100 && b >= 64 && b < 128) || (a == 169 && b == 254) ||
        (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168) || (a == 198 && (b == 18 || b == 19)))
      continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", a, b, static_cast<int>(rng.between(0, 255)),
                  static_cast<int>(rng.between(1, 254)));
    return buf;
  }
}

std::string same_slash24(const std::string& ipv4, Rng& rng) {
  const auto dot = ipv4.rfind('.');
  if (dot == std::string::npos) return ipv4;
  return ipv4.substr(0, dot + 1) + std::to_string(rng.between(1, 254));
}

std::string random_ipv6(Rng& rng) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2a0%x:%x:%x::%x:%x", static_cast<unsigned>(rng.between(1, 15)),
                static_cast<unsigned>(rng.between(0x1000, 0xffff)), static_cast<unsigned>(rng.between(0, 0xffff)),
                static_cast<unsigned>(rng.between(1, 0xffff)), static_cast<unsigned>(rng.between(1, 0xffff)));
  return buf;
}

std::string random_user_agent(Rng& rng) {
  char buf[64];
  switch (rng.weighted({45, 15, 8, 10, 6, 6, 5, 5})) {
    case 0: std::snprintf(buf, sizeof buf, "OpenAI/Python 1.%d.%d", static_cast<int>(rng.between(30, 58)),
                          static_cast<int>(rng.between(0, 4))); break;
    case 1: std::snprintf(buf, sizeof buf, "OpenAI/JS 4.%d.%d", static_cast<int>(rng.between(40, 77)),
                          static_cast<int>(rng.between(0, 3))); break;
    case 2: std::snprintf(buf, sizeof buf, "AsyncOpenAI/Python 1.%d.%d", static_cast<int>(rng.between(30, 58)),
                          static_cast<int>(rng.between(0, 4))); break;
    case 3: std::snprintf(buf, sizeof buf, "python-httpx/0.%d.%d", static_cast<int>(rng.between(24, 28)),
                          static_cast<int>(rng.between(0, 2))); break;
    case 4: std::snprintf(buf, sizeof buf, "curl/8.%d.%d", static_cast<int>(rng.between(0, 11)),
                          static_cast<int>(rng.between(0, 1))); break;
    case 5: std::snprintf(buf, sizeof buf, "python-requests/2.%d.%d", static_cast<int>(rng.between(28, 32)),
                          static_cast<int>(rng.between(0, 3))); break;
    case 6: std::snprintf(buf, sizeof buf, "langchain-openai/0.%d.%d", static_cast<int>(rng.between(1, 3)),
                          static_cast<int>(rng.between(0, 30))); break;
    default: std::snprintf(buf, sizeof buf, "Go-http-client/%d.1", static_cast<int>(rng.between(1, 2))); break;
  }
  return buf;
}

std::string random_model(Rng& rng) {
  static const std::array<const char*, 6> kModels = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini",
                                                     "gpt-4o-2024-08-06", "o3-mini"};
  return kModels[rng.weighted({30, 30, 15, 15, 5, 5})];
}

void finish_response(SimRecord& r, std::uint64_t completion, Rng& rng, double error_rate) {
  r.prompt_tokens = estimate_prompt_tokens(r.request);
  std::uint64_t n = 1;
  if (const auto* nv = r.request.if_contains("n"); nv && nv->is_int64()) n = std::max<std::int64_t>(1, nv->as_int64());
  std::int64_t cap = -1;
  for (const char* name : {"max_tokens", "max_completion_tokens", "max_output_tokens"})
    if (const auto* mt = r.request.if_contains(name); mt && mt->is_int64()) cap = mt->as_int64();
  if (cap >= 0) completion = std::min<std::uint64_t>(completion, static_cast<std::uint64_t>(cap));
  completion = std::max<std::uint64_t>(completion, 1) * n;
  r.completion_tokens = completion;
  r.status = 200;
  if (rng.chance(error_rate)) {
    r.status = rng.chance(0.6) ? 429 : (rng.chance(0.5) ? 500 : 400);
    r.completion_tokens = 0;
    r.latency_ms = rng.uniform(20, 400);
    return;
  }
  const double ttft = rng.lognormal(350 + 0.05 * static_cast<double>(r.prompt_tokens), 0.35);
  const double per_token = rng.uniform(12, 35);
  r.latency_ms = ttft + per_token * static_cast<double>(completion) / static_cast<double>(n);
}

}  // namespace dg::sim
