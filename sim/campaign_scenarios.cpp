// Campaign personas and scenarios: hydra clusters, extraction mixed into a
// customer's key, key rotation after blocks. See campaign_scenarios.hpp.
#include "sim/campaign_scenarios.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

#include "sim/arrivals.hpp"
#include "sim/multi_key.hpp"
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

/// Paraphrased frames: a campaign that rewords its wrapper draws several
/// combinations of opener, instruction and closer of one family; the slots
/// are filled from the corpora as in the fixed templates.
struct FrameFamily {
  Slots slots;
  std::vector<const char*> openers, instructions, closers;
};
const std::array<FrameFamily, 3>& frame_families() {
  static const std::array<FrameFamily, 3> kFamilies = {{
      {Slots::Gsm8kWithAnswer,
       {"Question: {q}\nAnswer: {a}", "Problem: {q}\nCorrect answer: {a}", "{q}\nThe answer is {a}.",
        "Here is a problem and its solution.\nProblem: {q}\nSolution: {a}",
        "Consider this problem: {q}\nWe know the result is {a}.", "Task: {q}\nExpected result: {a}"},
       {"Explain in detail, step by step, the reasoning that leads to this answer.",
        "Walk through every step needed to reach this answer.", "Justify this answer with a complete derivation.",
        "Show the full chain of reasoning that arrives at this result.",
        "Reconstruct the step-by-step solution that produces this answer.",
        "Derive the answer carefully, explaining each intermediate calculation."},
       {"", " Do not skip any step.", " Be thorough.", " Number each step.", " Make every calculation explicit."}},
      {Slots::Gsm8k,
       {"Problem: {q}", "{q}", "Question: {q}", "Solve: {q}", "Here is a math word problem.\n{q}"},
       {"Reason step by step and show every intermediate calculation.",
        "Write out your full chain of thought before the final answer.",
        "Think through it carefully, step by step, explaining your reasoning in detail.",
        "Give a detailed, step-by-step solution."},
       {" Put the final answer after '####'.", " End with 'Final answer: N'.", "",
        " State the final numeric answer on the last line."}},
      {Slots::Alpaca,
       {"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:", "Task: {instruction}\nContext: {input}",
        "{instruction}\n\n{input}", "Instruction: {instruction}\nInput: {input}"},
       {"Write a complete, detailed response of at least 300 words.",
        "Produce the best possible answer, covering every aspect of the task.", "Respond thoroughly and in depth.",
        "Give an exhaustive, well-structured answer."},
       {"", " Explain your reasoning.", " Use examples.", " Do not be brief."}},
  }};
  return kFamilies;
}

/// Frame texts live as long as the persona that drew them.
struct Frame {
  std::string text;
  Slots slots;
};

/// `count` distinct paraphrases from the families named in `content`
/// ("gsm8k_answer", "gsm8k_cot", "alpaca", joined with '+').
std::vector<Frame> draw_frames(const std::string& content, int count, Rng& rng) {
  std::vector<std::size_t> fams;
  auto has = [&](const char* name) { return content.find(name) != std::string::npos; };
  if (has("gsm8k_answer")) fams.push_back(0);
  if (has("gsm8k_cot")) fams.push_back(1);
  if (has("alpaca")) fams.push_back(2);
  if (fams.empty()) fams = {0};
  std::vector<Frame> out;
  std::set<std::string> seen;
  for (int tries = 0; static_cast<int>(out.size()) < std::max(1, count) && tries < 1000; ++tries) {
    const auto& f = frame_families()[fams[out.size() % fams.size()]];
    std::string text = std::string(f.openers[rng.index(f.openers.size())]) + (rng.chance(0.5) ? "\n\n" : "\n") +
                       f.instructions[rng.index(f.instructions.size())] + f.closers[rng.index(f.closers.size())];
    if (seen.insert(text).second) out.push_back({std::move(text), f.slots});
  }
  return out;
}

std::string fill_frame(const Frame& f, const DataSet& data, Rng& rng) {
  const CampaignTemplate t{f.text.c_str(), f.slots};
  return fill_template(t, data, rng);
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

class HydraPersona final : public Persona {
 public:
  HydraPersona(const DataSet& data, Rng rng, HydraOptions o, double start)
      : rng_(rng), ext_(rng.fork(0x5A17)), o_(std::move(o)), launch_(start) {
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
    // The options beyond the classic hydra draw from their own stream, so
    // that the classic one stays the same traffic for the same seed.
    if (o_.frames > 0) frames_ = draw_frames(o_.content, o_.frames, ext_);
    std::array<FormatOptions, std::size(kApiFormats)> per_format;
    for (auto f : kApiFormats) per_format[static_cast<std::size_t>(f)] = extraction_format(f, ext_);
    std::set<std::string> nets;
    auto fresh_ip = [&]() {
      for (;;) {
        std::string ip = random_public_ipv4(ext_);
        if (nets.insert(ip.substr(0, ip.rfind('.'))).second) return ip;
      }
    };
    for (int k = 0; k < o_.keys; ++k) {
      Key key;
      ClientIdentity& id = key.id;
      id.key = make_api_key(rng_);
      const std::string& base = networks_[static_cast<std::size_t>(k % o_.networks)];
      id.ips.push_back(same_slash24(base, rng_));
      if (rng_.chance(0.5)) id.ips.push_back(same_slash24(base, rng_));
      id.user_agent = params_.user_agent;
      double rate = std::min(30.0, o_.per_day * rng_.uniform(0.7, 1.15));
      if (o_.per_day_max > 0) rate = ext_.uniform(o_.per_day_min, o_.per_day_max);
      if (o_.network_mode == NetworkMode::OnePerKey) {
        id.ips = {ext_.chance(0.08) ? random_ipv6(ext_) : fresh_ip()};
      } else if (o_.network_mode == NetworkMode::Residential) {
        id.ips.clear();
        for (auto i = ext_.between(3, 8); i > 0; --i) id.ips.push_back(fresh_ip());
      }
      if (!o_.format_weights.empty()) key.format = kApiFormats[ext_.weighted(o_.format_weights)];
      if (o_.per_key_agents) id.user_agent = sdk_user_agent(key.format, ext_);
      key.fo = per_format[static_cast<std::size_t>(key.format)];
      if (!frames_.empty()) {
        key.frames.push_back(static_cast<std::uint32_t>(static_cast<std::size_t>(k) % frames_.size()));
        if (ext_.chance(0.5)) key.frames.push_back(static_cast<std::uint32_t>(ext_.index(frames_.size())));
      }
      key.peak = ext_.uniform(0, 24);
      keys_.push_back(std::move(key));
      rate_.push_back(rate);
    }
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    std::vector<std::pair<std::string, KeyLabel>> out;
    for (const auto& k : keys_) out.emplace_back(k.id.key, KeyLabel{KeyClass::Campaign, o_.persona, o_.campaign, ""});
    return out;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    const double launch = std::max(ctx.start, launch_);
    for (std::uint32_t k = 0; k < keys_.size(); ++k) {
      const double key_start = launch + rng_.uniform(0, o_.launch_spread_s);
      const DailyProfile profile = o_.human_cycle ? DailyProfile::office(keys_[k].peak, 0.1) : DailyProfile::flat();
      for (double t : profiled_arrivals(rate_[k], 1.0, profile, key_start, ctx.end, rng_))
        sched_.arrivals.push_back({t, k});
    }
    return sched_.finish();
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const auto k = sched_.next();
    const Key& key = keys_[k];
    SimRecord r;
    r.ts = ts;
    r.key = key.id.key;
    r.client_ip = o_.network_mode == NetworkMode::Residential ? key.id.ips[ext_.index(key.id.ips.size())]
                                                               : key.id.pick_ip(rng_);
    r.user_agent = key.id.user_agent;
    if (frames_.empty()) {
      const auto& tmpl = *templates_[(k + static_cast<std::uint32_t>(rng_.index(templates_.size() * 4))) % templates_.size()];
      r.request = campaign_body(params_, fill_template(tmpl, ctx.data, rng_));
    } else {
      const Frame& f = frames_[key.frames[ext_.index(key.frames.size())]];
      r.request = campaign_body(params_, fill_frame(f, ctx.data, ext_));
    }
    if (key.format == ApiFormat::Chat && key.fo.reasoning_effort.empty() && key.fo.model.empty()) {
      finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(450, 0.4)), rng_);
    } else {
      to_format(r, key.format, key.fo);
      finish_response(r, extraction_completion(key.fo, 450, ext_), rng_);
    }
    return r;
  }

 private:
  struct Key {
    ClientIdentity id;
    ApiFormat format = ApiFormat::Chat;
    FormatOptions fo;
    std::vector<std::uint32_t> frames;  ///< indexes into frames_
    double peak = 12;
  };
  Rng rng_, ext_;
  HydraOptions o_;
  double launch_;
  std::vector<std::string> networks_;
  std::vector<const CampaignTemplate*> templates_;
  std::vector<Frame> frames_;
  CampaignParams params_;
  std::vector<Key> keys_;
  std::vector<double> rate_;
  MergedSchedule sched_;
};

class MixedExtractionPersona final : public Persona {
 public:
  MixedExtractionPersona(const DataSet& data, Rng rng, MixedOptions o)
      : rng_(rng), ext_(rng.fork(0x3D11)), o_(std::move(o)), share_(std::clamp(o_.share, 0.0, 1.0)) {
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
    per_day_ = std::clamp(rng_.lognormal(300, 0.5), 80.0, 1500.0) * o_.volume_scale;
    peak_ = rng_.uniform(8, 20);
    if (o_.frames > 0) frames_ = draw_frames(o_.content, o_.frames, ext_);
    if (o_.format) {
      customer_fo_.model = format_model(*o_.format, false, ext_);
      extraction_fo_ = extraction_format(*o_.format, ext_);
      if (extraction_fo_.model.empty()) extraction_fo_.model = customer_fo_.model;
      id_.user_agent = sdk_user_agent(*o_.format, ext_);
    }
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    return {{id_.key, KeyLabel{KeyClass::Distiller, o_.persona, "", ""}}};
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
      const std::string prompt = frames_.empty() ? fill_template(*tmpl_, ctx.data, rng_)
                                                 : fill_frame(frames_[ext_.index(frames_.size())], ctx.data, ext_);
      r.request = campaign_body(extraction_, prompt);
      if (o_.format) {
        to_format(r, *o_.format, extraction_fo_);
        finish_response(r, extraction_completion(extraction_fo_, 700, ext_), rng_);
      } else {
        finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(700, 0.4)), rng_);
      }
    } else {
      std::string prompt = ctx.data.sharegpt.empty() ? "Can you help me plan a team offsite?"
                                                     : truncate_utf8(rng_.pick(ctx.data.sharegpt), 2000);
      r.request = campaign_body(customer_, prompt);
      if (o_.format) to_format(r, *o_.format, customer_fo_);
      finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(250, 0.7)), rng_);
    }
    return r;
  }

 private:
  Rng rng_, ext_;
  MixedOptions o_;
  double share_;
  ClientIdentity id_;
  CampaignParams customer_, extraction_;
  FormatOptions customer_fo_, extraction_fo_;
  const CampaignTemplate* tmpl_ = nullptr;
  std::vector<Frame> frames_;
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
    if (o_.format) {
      Rng ext = rng_.fork(0x207A);
      fo_ = extraction_format(*o_.format, ext);
      const std::string sdk_agent = sdk_user_agent(*o_.format, ext);
      for (auto& k : keys_) k.user_agent = sdk_agent;  // one client, one agent across its keys
    }
    (void)data;
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    std::vector<std::pair<std::string, KeyLabel>> out;
    for (const auto& k : keys_) out.emplace_back(k.key, KeyLabel{KeyClass::Campaign, "campaign/rotation", o_.campaign, ""});
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
    if (o_.format) to_format(r, *o_.format, fo_);
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
  FormatOptions fo_;
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
  MixedOptions o;
  o.share = extraction_share;
  o.volume_scale = volume_scale;
  return std::make_unique<MixedExtractionPersona>(data, rng, o);
}

PersonaPtr make_mixed_extraction_persona(const DataSet& data, Rng rng, const MixedOptions& options) {
  return std::make_unique<MixedExtractionPersona>(data, rng, options);
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
