// The `eval` scenario: a population for evaluating detection (issue 10),
// every part sized and shaped by options, so that bench/detection_sets.sh can
// define a tuning set and a test set of different shapes, not only seeds.
//
// Options (`--set NAME=VALUE`; ranges are "LO-HI" or one number):
//   benign customers (counts): reasoning, tutoring, cot_eval, support, summarization, translation,
//     router, calibration; customer_formats=chat:1,responses:1,... (default: each kind's own mix)
//   bring-your-own-key apps: byok_apps (count), byok_users (100-300), byok_per_day (6),
//     byok_formats (default: chat, 20% of users on messages); byok_study_apps (count): homework
//     apps whose students ask GSM8K-like questions (no answers) under the app's step-by-step frame
//   single-key distillers: --distillers N over the four kinds; distiller_formats=chat:1,...
//   campaigns: campaign1=SPEC, campaign2=SPEC, ... where SPEC is comma-separated NAME:VALUE:
//     net:per_key|shared|residential  keys:300  per_day:5-8  frames:6 (0: fixed templates)
//     content:gsm8k_answer+gsm8k_cot+alpaca  stagger_h:72  start_h:3  formats:chat+responses
//     ua:sdk|shared  cycle:human|flat  networks:3 (shared)
//   extraction mixed into customer keys: mixed (count), mixed_share (0.10-0.25),
//     mixed_formats (chat), mixed_frames (4)
//   key rotation: rotation (count), rotation_keys (6), rotation_per_day (1200), rotation_formats (chat)
//   honest customers rotating keys on a schedule: rotating (count; each customer kind in turn),
//     rotating_days (1-3: days between rotations)
// plus --benign N ServeGen-driven ordinary keys and --lookalikes N of each look-alike.
#include <cmath>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>

#include "sim/campaign_scenarios.hpp"
#include "sim/personas.hpp"
#include "sim/scenario.hpp"

namespace dg::sim {
namespace {

double to_number(const std::string& name, const std::string& v) {
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(name + "=" + v + ": not a number");
}

double num(const ScenarioOptions& o, const std::string& name, double fallback) {
  auto it = o.extra.find(name);
  return it == o.extra.end() ? fallback : to_number(name, it->second);
}

struct Range {
  double lo = 0, hi = 0;
  double draw(Rng& rng) const { return hi > lo ? rng.uniform(lo, hi) : lo; }
};

Range parse_range(const std::string& name, const std::string& v) {
  const auto dash = v.find('-', 1);
  if (dash == std::string::npos) {
    const double x = to_number(name, v);
    return {x, x};
  }
  return {to_number(name, v.substr(0, dash)), to_number(name, v.substr(dash + 1))};
}

Range range(const ScenarioOptions& o, const std::string& name, Range fallback) {
  auto it = o.extra.find(name);
  return it == o.extra.end() ? fallback : parse_range(name, it->second);
}

std::string str(const ScenarioOptions& o, const std::string& name, const std::string& fallback) {
  auto it = o.extra.find(name);
  return it == o.extra.end() ? fallback : it->second;
}

ApiFormat draw(const std::vector<double>& weights, Rng& rng) { return kApiFormats[rng.weighted(weights)]; }

std::string_view net_label(NetworkMode m) {
  switch (m) {
    case NetworkMode::SharedSlash24: return "shared_nets";
    case NetworkMode::OnePerKey: return "one_net_per_key";
    case NetworkMode::Residential: return "residential";
  }
  return "shared_nets";
}

/// One `campaignN=` spec.
HydraOptions parse_campaign(const std::string& name, const std::string& spec, Rng& rng) {
  HydraOptions h;
  h.network_mode = NetworkMode::OnePerKey;
  h.keys = 300;
  h.per_day_min = 5;
  h.per_day_max = 8;
  h.frames = 6;
  h.launch_spread_s = 72 * 3600;
  h.per_key_agents = true;
  h.human_cycle = false;
  h.format_weights = {1, 0, 0, 0};
  std::size_t pos = 0;
  while (pos < spec.size()) {
    auto end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const auto colon = item.find(':');
    if (colon == std::string::npos) throw std::invalid_argument(name + ": '" + item + "' is not NAME:VALUE");
    const std::string k = item.substr(0, colon), v = item.substr(colon + 1);
    const std::string where = name + "." + k;
    if (k == "net") {
      if (v == "per_key") h.network_mode = NetworkMode::OnePerKey;
      else if (v == "shared") h.network_mode = NetworkMode::SharedSlash24;
      else if (v == "residential") h.network_mode = NetworkMode::Residential;
      else throw std::invalid_argument(where + ": per_key, shared or residential");
    } else if (k == "keys") {
      h.keys = static_cast<int>(to_number(where, v));
    } else if (k == "per_day") {
      const Range r = parse_range(where, v);
      h.per_day_min = r.lo;
      h.per_day_max = std::max(r.hi, r.lo + 1e-9);
    } else if (k == "frames") {
      h.frames = static_cast<int>(to_number(where, v));
    } else if (k == "content") {
      h.content = v;
    } else if (k == "stagger_h") {
      h.launch_spread_s = std::max(60.0, to_number(where, v) * 3600);
    } else if (k == "formats") {
      h.format_weights = parse_format_weights(v);
    } else if (k == "ua") {
      h.per_key_agents = v == "sdk";
    } else if (k == "cycle") {
      h.human_cycle = v == "human";
    } else if (k == "networks") {
      h.networks = static_cast<int>(to_number(where, v));
    } else if (k == "start_h") {
      // handled by the caller
    } else {
      throw std::invalid_argument(where + ": unknown campaign field");
    }
  }
  (void)rng;
  h.persona = "campaign/" + std::string(net_label(h.network_mode));
  return h;
}

double campaign_start_h(const std::string& spec, double fallback) {
  const auto p = spec.find("start_h:");
  if (p == std::string::npos) return fallback;
  const auto end = spec.find(',', p);
  return to_number("start_h", spec.substr(p + 8, end == std::string::npos ? std::string::npos : end - p - 8));
}

void build_eval(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  // The ordinary keys, the look-alikes; distillers come below with formats.
  ScenarioOptions base = opts;
  base.distillers = 0;
  add_standard_population(base, data, pop);
  Rng choices = pop.next_stream();  // draws of the scenario itself (formats, shares)

  // Benign customers.
  const std::string cf = str(opts, "customer_formats", "");
  const std::vector<double> customer_w = cf.empty() ? std::vector<double>{} : parse_format_weights(cf);
  const std::pair<const char*, CustomerKind> kinds[] = {
      {"reasoning", CustomerKind::ReasoningCustomer}, {"tutoring", CustomerKind::Tutoring},
      {"cot_eval", CustomerKind::CotEval},            {"support", CustomerKind::SupportBot},
      {"summarization", CustomerKind::Summarization}, {"translation", CustomerKind::Translation},
      {"router", CustomerKind::ApiRouter},            {"calibration", CustomerKind::LogprobCalibration}};
  const auto customer_options = [&] {
    CustomerOptions co;
    co.volume_scale = opts.volume_scale;
    if (!customer_w.empty()) co.format = draw(customer_w, choices);
    return co;
  };
  for (const auto& [name, kind] : kinds) {
    const int n = static_cast<int>(num(opts, name, 0));
    for (int i = 0; i < n; ++i) pop.add(make_customer_persona(kind, data, pop.next_stream(), customer_options()));
  }

  // Customers that rotate their keys on a schedule (look-alikes of an
  // extractor's rotation): each kind in turn, a new key every rotating_days.
  const int rotating = static_cast<int>(num(opts, "rotating", 0));
  const Range rotating_days = range(opts, "rotating_days", {1, 3});
  for (int i = 0; i < rotating; ++i) {
    const CustomerOptions co = customer_options();
    KeyRotationOptions ro;
    ro.interval_s = rotating_days.draw(choices) * 86400;
    ro.overlap_s = choices.uniform(0, 4 * 3600);
    ro.start = opts.start;
    ro.end = opts.end();
    ro.group = "rotating-" + std::to_string(i + 1);
    const CustomerKind kind = kCustomerKinds[static_cast<std::size_t>(i) % std::size(kCustomerKinds)];
    pop.add(make_key_rotating_persona(make_customer_persona(kind, data, pop.next_stream(), co), pop.next_stream(), ro));
  }

  // Bring-your-own-key apps.
  const int apps = static_cast<int>(num(opts, "byok_apps", 0));
  const Range users = range(opts, "byok_users", {100, 300});
  const std::string bf = str(opts, "byok_formats", "");
  for (int i = 0; i < apps; ++i) {
    ByokOptions b;
    b.users = static_cast<int>(std::lround(users.draw(choices)));
    b.per_day_median = num(opts, "byok_per_day", 6);
    if (!bf.empty()) b.format = draw(parse_format_weights(bf), choices);
    b.app = "byok-" + std::to_string(i + 1);
    pop.add(make_byok_app_persona(data, pop.next_stream(), b));
  }

  // Study apps: students' own keys, homework questions under one frame.
  const int study = static_cast<int>(num(opts, "byok_study_apps", 0));
  for (int i = 0; i < study; ++i) {
    ByokOptions b;
    b.users = static_cast<int>(std::lround(users.draw(choices)));
    b.per_day_median = num(opts, "byok_per_day", 6);
    if (!bf.empty()) b.format = draw(parse_format_weights(bf), choices);
    b.app = "byok-study-" + std::to_string(i + 1);
    b.kind = "study";
    pop.add(make_byok_app_persona(data, pop.next_stream(), b));
  }

  // Single-key distillers on every format.
  const std::vector<double> dist_w = parse_format_weights(str(opts, "distiller_formats", "chat"));
  for (int i = 0; i < opts.distillers; ++i) {
    const auto kind = kDistillerKinds[static_cast<std::size_t>(i) % std::size(kDistillerKinds)];
    ApiFormat f = draw(dist_w, choices);
    if (kind == DistillerKind::Logprob && f == ApiFormat::Messages) f = ApiFormat::Chat;  // no logprobs there
    static constexpr const char* kNames[] = {"alpaca", "gsm8k_reasoning", "logprob", "slow_low"};
    DistillerOverrides ov;
    ov.format = f;
    ov.label = KeyLabel{KeyClass::Distiller,
                        std::string("distiller/") + kNames[static_cast<int>(kind)] + "@" + std::string(to_string(f)), "", ""};
    pop.add(make_distiller_persona(kind, data, pop.next_stream(), opts.volume_scale, ov));
  }

  // Campaigns.
  for (int c = 1; c <= 16; ++c) {
    const std::string name = "campaign" + std::to_string(c);
    auto it = opts.extra.find(name);
    if (it == opts.extra.end()) continue;
    HydraOptions h = parse_campaign(name, it->second, choices);
    h.campaign = "c" + std::to_string(c) + "-" + std::string(net_label(h.network_mode));
    const double start_h = campaign_start_h(it->second, 3 + 1.5 * (c - 1));
    pop.add(make_hydra_persona(data, pop.next_stream(), h, opts.start + start_h * 3600));
  }

  // Extraction mixed into customers' own keys.
  const int mixed = static_cast<int>(num(opts, "mixed", 0));
  const Range share = range(opts, "mixed_share", {0.10, 0.25});
  const std::vector<double> mixed_w = parse_format_weights(str(opts, "mixed_formats", "chat"));
  for (int i = 0; i < mixed; ++i) {
    MixedOptions m;
    m.share = mixed == 1 ? (share.lo + share.hi) / 2 : share.lo + (share.hi - share.lo) * i / (mixed - 1);
    m.volume_scale = opts.volume_scale;
    m.format = draw(mixed_w, choices);
    m.frames = static_cast<int>(num(opts, "mixed_frames", 4));
    m.persona = "mixed/in_customer_key@" + std::string(to_string(*m.format));
    pop.add(make_mixed_extraction_persona(data, pop.next_stream(), m));
  }

  // Key rotation.
  const int rotations = static_cast<int>(num(opts, "rotation", 0));
  const std::vector<double> rot_w = parse_format_weights(str(opts, "rotation_formats", "chat"));
  for (int i = 0; i < rotations; ++i) {
    RotationOptions r;
    r.keys = static_cast<int>(num(opts, "rotation_keys", r.keys));
    r.per_day = num(opts, "rotation_per_day", r.per_day);
    r.format = draw(rot_w, choices);
    r.campaign = "rotation-" + std::to_string(i + 1);
    pop.add(make_rotation_persona(data, pop.next_stream(), r, opts.start + 6 * 3600 * i));
  }
}

}  // namespace

std::vector<ScenarioEntry> eval_scenario_entries() {
  return {{"eval",
           "detection evaluation population: ServeGen keys, look-alikes, benign customers of every kind, BYOK apps, "
           "distillers on every format, campaigns, mixed-in extraction, rotation (see sim/eval_scenario.cpp for --set)",
           build_eval, [](ScenarioOptions& o) {
             o.benign = 0;
             o.lookalikes = 0;
             o.distillers = 0;
           }}};
}

}  // namespace dg::sim
