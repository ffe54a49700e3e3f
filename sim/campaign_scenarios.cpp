// Campaign personas and scenarios: hydra clusters, extraction mixed into a
// customer's key, key rotation after blocks. See campaign_scenarios.hpp.
#include "sim/campaign_scenarios.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "sim/arrivals.hpp"
#include "sim/personas.hpp"
#include "sim/text.hpp"

namespace dg::sim {
namespace {

namespace json = boost::json;

/// Extraction templates: a fixed frame around filled-in slots from real corpora.
enum class Slots { Gsm8k, Gsm8kWithAnswer, Alpaca };
struct CampaignTemplate {
  const char* text;
  Slots slots;
};
constexpr std::array<CampaignTemplate, 6> kTemplates = {{
    {"Problem: {q}\n\nSolve the problem above. Reason step by step, show every intermediate calculation, and give the "
     "final answer on the last line after '####'.",
     Slots::Gsm8k},
    {"Question: {q}\nAnswer: {a}\n\nExplain in detail, step by step, the reasoning that leads to this answer. Do not "
     "skip any step.",
     Slots::Gsm8kWithAnswer},
    {"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\nWrite a complete, detailed response of "
     "at least 300 words, covering every aspect of the task.",
     Slots::Alpaca},
    {"You will be given a grade-school math word problem.\nProblem: {q}\nWrite out your full chain of thought, then "
     "state the final numeric answer.",
     Slots::Gsm8k},
    {"Task: {instruction}\nContext: {input}\nProduce the best possible answer. Be exhaustive and explain your "
     "reasoning.",
     Slots::Alpaca},
    {"Problem: {q}\nCorrect answer: {a}\nJustify why this is the correct answer with a detailed step-by-step "
     "derivation.",
     Slots::Gsm8kWithAnswer},
}};

std::string fill_template(const CampaignTemplate& t, const DataSet& data, Rng& rng) {
  std::string text = t.text;
  if (t.slots == Slots::Alpaca && !data.alpaca.empty()) {
    const auto& item = rng.pick(data.alpaca);
    text = fill_slot(text, "instruction", item.instruction);
    return fill_slot(text, "input", item.input.empty() ? "(none)" : item.input);
  }
  const auto& pool = data.gsm8k_train.empty() ? data.gsm8k_test : data.gsm8k_train;
  if (pool.empty()) return fill_slot(fill_slot(text, "q", "What is 12 times 7?"), "a", "84");
  const auto& item = rng.pick(pool);
  text = fill_slot(text, "q", item.question);
  return fill_slot(text, "a", item.final_answer);
}

double extra_number(const ScenarioOptions& opts, const std::string& name, double fallback) {
  auto it = opts.extra.find(name);
  if (it == opts.extra.end()) return fallback;
  try {
    std::size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument(name);
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument("--set " + name + "=" + it->second + ": not a number");
  }
}

/// Shared request parameters of one campaign.
struct CampaignParams {
  std::string model;
  std::string system;
  std::string user_agent;
  double temperature = 0.7;
  int max_tokens = 4096;
  bool logprobs = false;
  int top_logprobs = 0;
};

json::object campaign_body(const CampaignParams& p, const std::string& prompt) {
  json::object body;
  body["model"] = p.model;
  json::array messages;
  if (!p.system.empty()) messages.push_back(message("system", p.system));
  messages.push_back(message("user", prompt));
  body["messages"] = std::move(messages);
  body["max_tokens"] = p.max_tokens;
  body["temperature"] = p.temperature;
  if (p.logprobs) {
    body["logprobs"] = true;
    body["top_logprobs"] = p.top_logprobs;
  }
  return body;
}

/// Arrivals of many keys merged in time order; render() walks them in order.
struct MergedSchedule {
  struct Arrival {
    double ts;
    std::uint32_t key;
  };
  std::vector<Arrival> arrivals;
  std::size_t cursor = 0;

  std::vector<double> finish() {
    std::stable_sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.ts < b.ts; });
    std::vector<double> out;
    out.reserve(arrivals.size());
    for (const auto& a : arrivals) out.push_back(a.ts);
    return out;
  }
  /// The key of the next arrival (the generator renders in schedule order).
  std::uint32_t next() { return cursor < arrivals.size() ? arrivals[cursor++].key : 0; }
};

class HydraPersona final : public Persona {
 public:
  HydraPersona(const DataSet& data, Rng rng, HydraOptions o, double start) : rng_(rng), o_(std::move(o)), launch_(start) {
    o_.keys = std::max(1, o_.keys);
    o_.networks = std::max(1, o_.networks);
    o_.templates = std::clamp(o_.templates, 1, 3);
    for (int n = 0; n < o_.networks; ++n) networks_.push_back(random_public_ipv4(rng_));
    // 1-3 templates of the same family of tasks.
    std::size_t first = rng_.index(kTemplates.size());
    for (int t = 0; t < o_.templates; ++t) templates_.push_back(&kTemplates[(first + static_cast<std::size_t>(t) * 2) % kTemplates.size()]);
    params_.model = random_model(rng_);
    params_.user_agent = random_user_agent(rng_);
    params_.temperature = rng_.chance(0.5) ? 0.7 : 1.0;
    params_.max_tokens = rng_.chance(0.5) ? 4096 : 2048;
    if (rng_.chance(0.5)) params_.system = "You are a meticulous expert. Always answer completely, with all reasoning.";
    for (int k = 0; k < o_.keys; ++k) {
      ClientIdentity id;
      id.key = make_api_key(rng_);
      const std::string& base = networks_[static_cast<std::size_t>(k % o_.networks)];
      id.ips.push_back(same_slash24(base, rng_));
      if (rng_.chance(0.5)) id.ips.push_back(same_slash24(base, rng_));
      id.user_agent = params_.user_agent;
      keys_.push_back(std::move(id));
      rate_.push_back(std::min(30.0, o_.per_day * rng_.uniform(0.7, 1.15)));
    }
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    std::vector<std::pair<std::string, KeyLabel>> out;
    for (const auto& k : keys_) out.emplace_back(k.key, KeyLabel{KeyClass::Campaign, "campaign/hydra", o_.campaign});
    return out;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    const double launch = std::max(ctx.start, launch_);
    for (std::uint32_t k = 0; k < keys_.size(); ++k) {
      const double key_start = launch + rng_.uniform(0, o_.launch_spread_s);
      for (double t : profiled_arrivals(rate_[k], 1.0, DailyProfile::flat(), key_start, ctx.end, rng_))
        sched_.arrivals.push_back({t, k});
    }
    return sched_.finish();
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const auto k = sched_.next();
    SimRecord r;
    r.ts = ts;
    r.key = keys_[k].key;
    r.client_ip = keys_[k].pick_ip(rng_);
    r.user_agent = keys_[k].user_agent;
    const auto& tmpl = *templates_[(k + static_cast<std::uint32_t>(rng_.index(templates_.size() * 4))) % templates_.size()];
    r.request = campaign_body(params_, fill_template(tmpl, ctx.data, rng_));
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(450, 0.4)), rng_);
    return r;
  }

 private:
  Rng rng_;
  HydraOptions o_;
  double launch_;
  std::vector<std::string> networks_;
  std::vector<const CampaignTemplate*> templates_;
  CampaignParams params_;
  std::vector<ClientIdentity> keys_;
  std::vector<double> rate_;
  MergedSchedule sched_;
};

class MixedExtractionPersona final : public Persona {
 public:
  MixedExtractionPersona(const DataSet& data, Rng rng, double share, double volume_scale)
      : rng_(rng), share_(std::clamp(share, 0.0, 1.0)) {
    id_.key = make_api_key(rng_);
    id_.ips.push_back(random_public_ipv4(rng_));
    id_.ips.push_back(same_slash24(id_.ips.front(), rng_));
    id_.user_agent = random_user_agent(rng_);
    customer_.model = random_model(rng_);
    customer_.user_agent = id_.user_agent;
    customer_.temperature = std::array<double, 3>{0.3, 0.7, 1.0}[rng_.index(3)];
    customer_.max_tokens = std::array<int, 3>{512, 1024, 2048}[rng_.index(3)];
    customer_.system = "You are a helpful assistant for our customers. Be concise.";
    extraction_ = customer_;
    extraction_.system.clear();
    extraction_.max_tokens = 4096;
    tmpl_ = &kTemplates[rng_.index(kTemplates.size())];
    per_day_ = std::clamp(rng_.lognormal(300, 0.5), 80.0, 1500.0) * volume_scale;
    peak_ = rng_.uniform(8, 20);
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    return {{id_.key, KeyLabel{KeyClass::Distiller, "campaign/mixed_extraction", ""}}};
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    return profiled_arrivals(per_day_, 1.3, DailyProfile::office(peak_, 0.1), ctx.start, ctx.end, rng_);
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r;
    r.ts = ts;
    r.key = id_.key;
    r.client_ip = id_.pick_ip(rng_);
    r.user_agent = id_.user_agent;
    if (rng_.chance(share_)) {
      r.request = campaign_body(extraction_, fill_template(*tmpl_, ctx.data, rng_));
      finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(700, 0.4)), rng_);
    } else {
      std::string prompt = ctx.data.sharegpt.empty() ? "Can you help me plan a team offsite?"
                                                     : truncate_utf8(rng_.pick(ctx.data.sharegpt), 2000);
      r.request = campaign_body(customer_, prompt);
      finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(250, 0.7)), rng_);
    }
    return r;
  }

 private:
  Rng rng_;
  double share_;
  ClientIdentity id_;
  CampaignParams customer_, extraction_;
  const CampaignTemplate* tmpl_ = nullptr;
  double per_day_ = 0;
  double peak_ = 12;
};

class RotationPersona final : public Persona {
 public:
  RotationPersona(const DataSet& data, Rng rng, RotationOptions o, double start)
      : rng_(rng), o_(std::move(o)), start_(start) {
    o_.keys = std::max(1, o_.keys);
    const std::string base = random_public_ipv4(rng_);
    const std::string agent = random_user_agent(rng_);
    for (int k = 0; k < o_.keys; ++k) {
      ClientIdentity id;
      id.key = make_api_key(rng_);
      id.ips.push_back(same_slash24(base, rng_));
      id.user_agent = agent;
      keys_.push_back(std::move(id));
    }
    tmpl_ = &kTemplates[rng_.chance(0.5) ? 0 : 1];
    params_.model = random_model(rng_);
    params_.temperature = 0.0;
    params_.max_tokens = 1024;
    params_.logprobs = true;
    params_.top_logprobs = 5;
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    std::vector<std::pair<std::string, KeyLabel>> out;
    for (const auto& k : keys_) out.emplace_back(k.key, KeyLabel{KeyClass::Campaign, "campaign/rotation", o_.campaign});
    return out;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    double t = std::max(ctx.start, start_) + rng_.uniform(0, 7200);
    for (std::uint32_t k = 0; k < keys_.size() && t < ctx.end; ++k) {
      const double stop = std::min(ctx.end, t + o_.lifetime_h * 3600 * rng_.uniform(0.5, 1.5));
      for (double a : profiled_arrivals(o_.per_day, 0.8, DailyProfile::flat(), t, stop, rng_))
        sched_.arrivals.push_back({a, k});
      t = stop + rng_.uniform(o_.gap_min_s, o_.gap_max_s);  // the next key appears after the old one stopped
    }
    return sched_.finish();
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const auto k = sched_.next();
    SimRecord r;
    r.ts = ts;
    r.key = keys_[k].key;
    r.client_ip = keys_[k].pick_ip(rng_);
    r.user_agent = keys_[k].user_agent;
    r.request = campaign_body(params_, fill_template(*tmpl_, ctx.data, rng_));
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(500, 0.4)), rng_);
    return r;
  }

 private:
  Rng rng_;
  RotationOptions o_;
  double start_;
  std::vector<ClientIdentity> keys_;
  const CampaignTemplate* tmpl_ = nullptr;
  CampaignParams params_;
  MergedSchedule sched_;
};

void add_hydras(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  HydraOptions h;
  h.keys = static_cast<int>(extra_number(opts, "hydra_keys", h.keys));
  h.per_day = extra_number(opts, "hydra_per_day", h.per_day);
  h.templates = static_cast<int>(extra_number(opts, "hydra_templates", h.templates));
  h.networks = static_cast<int>(extra_number(opts, "hydra_networks", h.networks));
  const int hydras = static_cast<int>(extra_number(opts, "hydras", 1));
  for (int i = 0; i < hydras; ++i) {
    h.campaign = "hydra-" + std::to_string(i + 1);
    // Launched a few hours into the run, so that timing shows the start.
    pop.add(make_hydra_persona(data, pop.next_stream(), h, opts.start + 3 * 3600 + i * 5400));
  }
}

void add_mixed(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  const int mixed = static_cast<int>(extra_number(opts, "mixed", 6));
  for (int i = 0; i < mixed; ++i) {
    const double share = mixed == 1 ? 0.15 : 0.05 + 0.20 * i / (mixed - 1);  // spread over 5-25%
    pop.add(make_mixed_extraction_persona(data, pop.next_stream(), share, opts.volume_scale));
  }
}

void add_rotation(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  RotationOptions r;
  r.keys = static_cast<int>(extra_number(opts, "rotation_keys", r.keys));
  r.per_day = extra_number(opts, "rotation_per_day", r.per_day);
  r.lifetime_h = extra_number(opts, "rotation_lifetime_h", r.lifetime_h);
  pop.add(make_rotation_persona(data, pop.next_stream(), r, opts.start));
}

}  // namespace

PersonaPtr make_hydra_persona(const DataSet& data, Rng rng, const HydraOptions& options, double start) {
  return std::make_unique<HydraPersona>(data, rng, options, start);
}

PersonaPtr make_mixed_extraction_persona(const DataSet& data, Rng rng, double extraction_share, double volume_scale) {
  return std::make_unique<MixedExtractionPersona>(data, rng, extraction_share, volume_scale);
}

PersonaPtr make_rotation_persona(const DataSet& data, Rng rng, const RotationOptions& options, double start) {
  return std::make_unique<RotationPersona>(data, rng, options, start);
}

void build_hydra_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
  add_hydras(opts, data, pop);
}

void build_mixed_extraction_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
  add_mixed(opts, data, pop);
}

void build_key_rotation_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
  add_rotation(opts, data, pop);
}

void build_campaigns_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
  add_hydras(opts, data, pop);
  add_mixed(opts, data, pop);
  add_rotation(opts, data, pop);
}

std::vector<ScenarioEntry> campaign_scenario_entries() {
  auto two_days = [](ScenarioOptions& o) { o.days = 2; };
  return {
      {"hydra", "standard population plus a hydra campaign: >= 200 keys at <= 30 requests/key/day sharing 1-3 templates "
                "over a few /24 networks",
       build_hydra_scenario, two_days},
      {"mixed-extraction", "standard population plus customers whose key carries 5-25% extraction traffic",
       build_mixed_extraction_scenario, two_days},
      {"key-rotation", "standard population plus an extractor that moves to a new key (same template, /24, "
                       "parameters) each time its key stops",
       build_key_rotation_scenario, two_days},
      {"campaigns", "standard population plus hydra, mixed-extraction and key-rotation campaigns",
       build_campaigns_scenario, two_days},
  };
}

}  // namespace dg::sim
