#pragma once
// Synthetic traffic for the campaign linker tests: hand-built features, no
// prompt analyzer. Template signatures are random 64-bit values; a slot change
// flips at most one bit (a near-duplicate SimHash).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "detectors/campaign_linker.hpp"
#include "detectors/features.hpp"

namespace dg::detectors::test {

inline constexpr double kT0 = 1'795'392'000.0;  // 2026-11-23 00:00 UTC

inline std::string fp_of(const std::string& prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fp:%s%012x", prefix.c_str(), static_cast<unsigned>(i));
  return std::string(buf).substr(0, 19);
}

inline std::string ip4(int a, int b, int c, int d) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." + std::to_string(d);
}

/// One event of a synthetic stream, turned into an Exchange by `make`.
struct Event {
  double ts = 0;
  std::string key_fp;
  std::string ip;
  std::string ua = "OpenAI/Python 1.54.0";
  std::uint64_t tmpl = 0;       // 0: no template evidence
  std::uint32_t chars = 200;    // normalized length of the prompt
  std::uint64_t system = 0;
  std::string model = "gpt-4o";
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  bool logprobs = false;
  std::uint32_t top_logprobs = 0;
  int label = 0;  // 0 benign, 1 campaign, 2 rotated
};

inline Exchange make(const Event& e) {
  Exchange ex;
  ex.ts = e.ts;
  ex.key_fp = e.key_fp;
  ex.client_ip = e.ip;
  ex.user_agent = e.ua;
  ex.request.endpoint = Endpoint::ChatCompletions;
  ex.request.body_is_json = true;
  ex.request.model = e.model;
  ex.request.temperature = e.temperature;
  ex.request.max_tokens = e.max_tokens;
  ex.request.logprobs = e.logprobs;
  ex.request.top_logprobs = e.top_logprobs;
  ex.request.prompt.template_signature = e.tmpl;
  ex.request.prompt.normalized_chars = e.chars;
  ex.request.prompt.system_prompt_hash = e.system;
  ex.response.status = 200;
  return ex;
}

/// A near-duplicate of `sig`: one random bit flipped half of the time.
inline std::uint64_t slot_variant(std::uint64_t sig, std::mt19937_64& rng) {
  if (rng() & 1) sig ^= std::uint64_t{1} << (rng() % 64);
  return sig;
}

inline void sort_events(std::vector<Event>& ev) {
  std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.ts < b.ts; });
}

/// A hydra: `keys` keys over `networks` /24s, each ~`per_day` requests a day
/// round the clock, sharing `templates` templates (near-duplicates).
inline void add_hydra(std::vector<Event>& ev, std::mt19937_64& rng, const std::string& prefix, int keys, int networks,
                      int templates, double per_day, double start, double days, int net_base = 10) {
  std::vector<std::uint64_t> sigs;
  for (int t = 0; t < templates; ++t) sigs.push_back(rng());
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < keys; ++k) {
    std::string fp = fp_of(prefix, k);
    int net = k % networks;
    double key_start = start + u(rng) * 600;  // launched together
    auto count = static_cast<int>(per_day * days);
    for (int r = 0; r < count; ++r) {
      Event e;
      e.ts = key_start + u(rng) * (days * 86400 - 600);
      e.key_fp = fp;
      e.ip = ip4(45, 80 + net_base, net, static_cast<int>(2 + rng() % 250));
      e.ua = "python-requests/2.31.0";
      e.tmpl = slot_variant(sigs[static_cast<std::size_t>((k + r) % templates)], rng);
      e.chars = 180;
      e.temperature = 0.7;
      e.max_tokens = 2048;
      e.label = 1;
      ev.push_back(std::move(e));
    }
  }
}

/// Benign humans: diurnal (09-18 UTC), random prompts (distinct signatures),
/// default SDK parameters and user agent, networks from a pool in which
/// `nat_keys` keys share one corporate NAT /24.
inline void add_benign(std::vector<Event>& ev, std::mt19937_64& rng, const std::string& prefix, int keys, double per_day,
                       double start, double days, int nat_keys = 0) {
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < keys; ++k) {
    std::string fp = fp_of(prefix, k);
    bool nat = k < nat_keys;
    int a = static_cast<int>(100 + rng() % 100), b = static_cast<int>(rng() % 250), c = static_cast<int>(rng() % 250);
    auto count = static_cast<int>(per_day * days * (0.5 + u(rng)));
    for (int r = 0; r < count; ++r) {
      Event e;
      auto day = static_cast<int>(u(rng) * days);
      e.ts = start + day * 86400.0 + 9 * 3600 + u(rng) * 9 * 3600;
      e.key_fp = fp;
      e.ip = nat ? ip4(198, 51, 100, static_cast<int>(1 + rng() % 3)) : ip4(a, b, c, static_cast<int>(1 + rng() % 250));
      e.tmpl = rng();
      e.chars = static_cast<std::uint32_t>(20 + rng() % 400);
      ev.push_back(std::move(e));
    }
  }
}

/// Feeds events in order, clustering from event time; returns nothing.
inline void replay(CampaignLinker& linker, const std::vector<Event>& ev) {
  for (const auto& e : ev) {
    linker.maybe_cluster(e.ts);
    linker.record(make(e));
  }
}

}  // namespace dg::detectors::test
