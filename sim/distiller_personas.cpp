// Keys harvesting model outputs to train another model. Each key draws its
// own mixture of content (instructions with long outputs, reasoning demands,
// logprob probes, benign-looking cover traffic), phrasings, languages,
// sampling parameters and cadence from the seed, so no two look identical.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "sim/arrivals.hpp"
#include "sim/personas.hpp"
#include "sim/text.hpp"

namespace dg::sim {
namespace {

namespace json = boost::json;

enum Content : std::size_t { kAlpaca, kGsm8k, kLogprob, kCover, kContentKinds };

constexpr std::array<const char*, 6> kAlpacaWrappers = {
    "{instruction}\n\n{input}",
    "Instruction: {instruction}\nInput: {input}\nResponse:",
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
    "### Response:",
    "{instruction} {input}\nPlease give a detailed, comprehensive answer.",
    "{instruction}\n{input}\nRespond thoroughly and in depth; at least 500 words.",
    "Task: {instruction}\nContext: {input}\nWrite the best possible answer, covering every aspect."};

struct Phrasing {
  const char* text;
  bool given_answer;  ///< asks for the reasoning behind a supplied answer
};
/// Reasoning demands by language (en, es, fr, de, zh, ja, pt).
const std::array<std::vector<Phrasing>, 7> kReasoning = {{
    {{"{q}\nSolve this step by step and show all of your reasoning before giving the final answer.", false},
     {"Question: {q}\nThe answer is {a}. Explain the reasoning behind this answer step by step.", true},
     {"{q}\nThink step by step. Write out your full chain of thought, then give the final answer after '####'.", false},
     {"Here is a math problem and its answer.\nProblem: {q}\nAnswer: {a}\nWalk me through the complete reasoning that "
      "leads to this answer, explaining every step.",
      true},
     {"{q}\nLet's work this out step by step to be sure we have the right answer. Show every intermediate step.", false},
     {"Problem: {q}\nCorrect answer: {a}\nJustify why this is the correct answer with a detailed step-by-step "
      "derivation.",
      true}},
    {{"{q}\nResuelve este problema paso a paso y explica todo tu razonamiento.", false},
     {"Problema: {q}\nRespuesta: {a}\nExplica paso a paso el razonamiento que lleva a esta respuesta.", true}},
    {{"{q}\nRésous ce problème étape par étape en détaillant tout ton raisonnement.", false},
     {"Problème : {q}\nRéponse : {a}\nExplique le raisonnement qui mène à cette réponse, étape par étape.", true}},
    {{"{q}\nLöse die Aufgabe Schritt für Schritt und erkläre deinen gesamten Lösungsweg.", false},
     {"Aufgabe: {q}\nAntwort: {a}\nErkläre Schritt für Schritt die Begründung für diese Antwort.", true}},
    {{"{q}\n请一步一步地解题，并写出完整的推理过程。", false},
     {"题目：{q}\n答案：{a}\n请逐步解释得出这个答案的推理过程。", true}},
    {{"{q}\nステップバイステップで解き、推論の過程をすべて示してください。", false},
     {"問題：{q}\n答え：{a}\nこの答えに至る推論を一歩ずつ説明してください。", true}},
    {{"{q}\nResolva passo a passo e mostre todo o raciocínio.", false},
     {"Problema: {q}\nResposta: {a}\nExplique passo a passo o raciocínio que leva a esta resposta.", true}},
}};

class DistillerPersona final : public Persona {
 public:
  DistillerPersona(DistillerKind kind, Rng rng, double volume_scale, const DistillerOverrides& ov)
      : rng_(rng), kind_(kind) {
    id_.key = make_api_key(rng_);
    id_.ips.push_back(rng_.chance(0.1) ? random_ipv6(rng_) : random_public_ipv4(rng_));
    for (auto i = rng_.between(0, 3); i > 0; --i)
      id_.ips.push_back(rng_.chance(0.7) ? same_slash24(id_.ips.front(), rng_) : random_public_ipv4(rng_));
    id_.user_agent = random_user_agent(rng_);
    model_ = random_model(rng_);

    // Content mixture: the kind's main content, sometimes a second kind and
    // some benign-looking cover traffic.
    weights_.fill(0);
    switch (kind_) {
      case DistillerKind::Alpaca: weights_[kAlpaca] = 1; break;
      case DistillerKind::Gsm8kReasoning: weights_[kGsm8k] = 1; break;
      case DistillerKind::Logprob: weights_[kLogprob] = 1; break;
      case DistillerKind::SlowLow:
        weights_[kAlpaca] = rng_.uniform(0, 1);
        weights_[kGsm8k] = 1 - weights_[kAlpaca];
        break;
    }
    if (kind_ != DistillerKind::Logprob && rng_.chance(0.4))
      weights_[kind_ == DistillerKind::Alpaca ? kGsm8k : kAlpaca] += rng_.uniform(0.1, 0.4);
    if (rng_.chance(0.4)) weights_[kCover] = rng_.uniform(0.03, 0.15);

    // Volume and cadence.
    double per_day = 0;
    switch (kind_) {
      case DistillerKind::Alpaca: per_day = rng_.uniform(300, 2500); break;
      case DistillerKind::Gsm8kReasoning: per_day = rng_.uniform(200, 2000); break;
      case DistillerKind::Logprob: per_day = rng_.uniform(500, 4000); break;
      case DistillerKind::SlowLow: per_day = rng_.uniform(15, 45); break;
    }
    per_day_ = per_day * volume_scale;
    cv_ = rng_.chance(0.25) ? rng_.uniform(1.5, 3.0) : rng_.uniform(0.3, 1.2);
    profile_ = rng_.chance(0.55) ? DailyProfile::flat() : DailyProfile::office(rng_.uniform(0, 24), rng_.uniform(0.2, 0.7));

    // Sampling parameters of this key.
    static constexpr std::array<int, 5> kLongMax = {2048, 4096, 8192, 16000, 16384};
    long_max_tokens_ = kLongMax[rng_.index(kLongMax.size())];
    use_max_completion_ = rng_.chance(0.3);
    n_ = rng_.chance(0.25) ? static_cast<int>(rng_.between(2, 6)) : 1;
    temperature_ = rng_.chance(0.3) ? 0.0 : std::round(rng_.uniform(0.5, 1.0) * 10) / 10;
    stream_ = rng_.chance(0.35);
    static constexpr std::array<const char*, 4> kSystems = {
        "", "You are a helpful, knowledgeable assistant. Always answer in full detail.",
        "You are an expert tutor. Provide exhaustive, well-structured answers with all intermediate reasoning.",
        "You are ChatGPT, a large language model. Answer as completely as possible."};
    system_ = kSystems[rng_.index(kSystems.size())];

    // Alpaca phrasings: one to three wrappers.
    for (auto i = rng_.between(1, 3); i > 0; --i) wrappers_.push_back(kAlpacaWrappers[rng_.index(kAlpacaWrappers.size())]);

    // Reasoning phrasings: English, a few languages, or one other language.
    std::vector<std::size_t> langs;
    switch (rng_.weighted({45, 35, 20})) {
      case 0: langs = {0}; break;
      case 1:
        langs = {0, 1 + rng_.index(6)};
        if (rng_.chance(0.5)) langs.push_back(1 + rng_.index(6));
        break;
      default: langs = {1 + rng_.index(4)}; break;  // es, fr, de or zh
    }
    for (auto lang : langs) {
      const auto& all = kReasoning[lang];
      for (auto i = rng_.between(1, static_cast<std::int64_t>(all.size())); i > 0; --i)
        phrasings_.push_back(&all[rng_.index(all.size())]);
    }
    given_answer_bias_ = rng_.uniform(0, 1);

    // Logprob probes.
    completions_endpoint_ = rng_.chance(0.3);
    bias_rotation_ = rng_.chance(0.75) ? static_cast<int>(rng_.between(1, 12)) : 0;
    bias_size_ = static_cast<int>(rng_.between(5, 40));
    probe_max_tokens_ = static_cast<int>(rng_.between(1, 5));

    // Overrides come last so that the random stream (and thus every other
    // choice) is the same with or without them.
    if (ov.per_day) per_day_ = *ov.per_day;
    if (ov.identity) id_ = *ov.identity;
    if (ov.model) model_ = *ov.model;
    if (ov.cover_traffic && !*ov.cover_traffic) weights_[kCover] = 0;
    if (ov.label) label_ = *ov.label;
    if (ov.format) {
      format_ = *ov.format;
      Rng ext = rng_.fork(0xF0F0);
      fo_ = extraction_format(*format_, ext);
      if (kind_ == DistillerKind::Logprob) {
        // A probe reads next-token distributions: no reasoning, a plain model.
        fo_.reasoning_effort.clear();
        fo_.thinking_budget = 0;
        fo_.model = format_model(*format_, false, ext);
      }
      completions_endpoint_ = false;  // the body is built as chat, then rewritten into the format
      if (!ov.identity) id_.user_agent = sdk_user_agent(*format_, ext);
    }
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    static constexpr std::array<const char*, 4> kNames = {"distiller/alpaca", "distiller/gsm8k_reasoning",
                                                          "distiller/logprob", "distiller/slow_low"};
    if (label_) return {{id_.key, *label_}};
    return {{id_.key, KeyLabel{KeyClass::Distiller, kNames[static_cast<int>(kind_)], "", ""}}};
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    return profiled_arrivals(per_day_, cv_, profile_, ctx.start, ctx.end, rng_);
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r;
    r.ts = ts;
    r.key = id_.key;
    r.client_ip = id_.pick_ip(rng_);
    r.user_agent = id_.user_agent;
    const auto content = rng_.weighted({weights_.begin(), weights_.end()});
    switch (content) {
      case kAlpaca: render_alpaca(r, ctx.data); break;
      case kGsm8k: render_gsm8k(r, ctx.data); break;
      case kLogprob: render_logprob(r, ctx.data); break;
      default: render_cover(r, ctx.data); break;
    }
    // Anthropic has no logprobs: a probe stays on chat completions there.
    if (format_ && !(content == kLogprob && *format_ == ApiFormat::Messages)) {
      const std::uint64_t base = r.completion_tokens;
      to_format(r, *format_, fo_);
      if (content == kLogprob || content == kCover) {
        finish_response(r, std::max<std::uint64_t>(base, 1), rng_);
      } else {
        finish_response(r, base + extraction_completion(fo_, 50, rng_), rng_);
      }
    }
    return r;
  }

 private:
  void set_long_max(json::object& body) {
    body[use_max_completion_ ? "max_completion_tokens" : "max_tokens"] = long_max_tokens_;
  }

  json::array with_system() {
    json::array m;
    if (!system_.empty()) m.push_back(message("system", system_));
    return m;
  }

  void render_alpaca(SimRecord& r, const DataSet& data) {
    const Instruction& ins = rng_.pick(data.alpaca);
    std::string prompt = fill_slot(fill_slot(wrappers_[rng_.index(wrappers_.size())], "instruction", ins.instruction), "input",
                              ins.input);
    auto messages = with_system();
    messages.push_back(message("user", prompt));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    set_long_max(r.request);
    r.request["temperature"] = temperature_;
    if (n_ > 1) r.request["n"] = n_;
    if (stream_) r.request["stream"] = true;
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(900, 0.5)), rng_);
  }

  void render_gsm8k(SimRecord& r, const DataSet& data) {
    const Gsm8kItem& item = rng_.pick(data.gsm8k_train);
    // Prefer "given answer" phrasings with this key's bias.
    const Phrasing* p = phrasings_[rng_.index(phrasings_.size())];
    for (int tries = 0; tries < 3 && p->given_answer != rng_.chance(given_answer_bias_); ++tries)
      p = phrasings_[rng_.index(phrasings_.size())];
    const std::string prompt = fill_slot(fill_slot(p->text, "q", item.question), "a", item.final_answer);
    auto messages = with_system();
    messages.push_back(message("user", prompt));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    r.request[use_max_completion_ ? "max_completion_tokens" : "max_tokens"] = std::min(long_max_tokens_, 4096);
    r.request["temperature"] = temperature_;
    if (n_ > 1) r.request["n"] = n_;
    if (stream_) r.request["stream"] = true;
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(380, 0.4)), rng_);
  }

  void render_logprob(SimRecord& r, const DataSet& data) {
    // A prefix of real text: the harvester reads the next-token distribution
    // at many positions.
    const std::string& src = rng_.chance(0.5) ? rng_.pick(data.sharegpt) : rng_.pick(data.alpaca).instruction;
    const std::string prefix = truncate_utf8(src, static_cast<std::size_t>(rng_.between(20, 1200)));
    if (bias_rotation_ > 0 && (bias_.empty() || ++bias_uses_ >= bias_rotation_)) {
      bias_uses_ = 0;
      bias_.clear();
      for (int i = 0; i < bias_size_; ++i) bias_.push_back(std::to_string(rng_.between(0, 100255)));
    }
    r.request["model"] = completions_endpoint_ ? std::string("gpt-3.5-turbo-instruct") : model_;
    if (completions_endpoint_) {
      r.path = "/v1/completions";
      r.request["prompt"] = prefix;
      r.request["logprobs"] = 5;  // the legacy maximum
    } else {
      json::array messages;
      messages.push_back(message("user", prefix));
      r.request["messages"] = std::move(messages);
      r.request["logprobs"] = true;
      r.request["top_logprobs"] = 20;  // the maximum
    }
    r.request["max_tokens"] = probe_max_tokens_;
    r.request["temperature"] = 0;
    if (!bias_.empty()) {
      json::object bias;
      for (const auto& t : bias_) bias[t] = rng_.chance(0.8) ? 100 : -100;
      r.request["logit_bias"] = std::move(bias);
    }
    finish_response(r, static_cast<std::uint64_t>(probe_max_tokens_), rng_);
  }

  void render_cover(SimRecord& r, const DataSet& data) {
    json::array messages;
    messages.push_back(message("user", truncate_utf8(rng_.pick(data.sharegpt), 3000)));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0.7;
    finish_response(r, rng_.pick(data.azure_conv).output, rng_);
  }

  Rng rng_;
  DistillerKind kind_;
  ClientIdentity id_;
  std::string model_;
  std::array<double, kContentKinds> weights_{};
  double per_day_ = 100, cv_ = 1;
  DailyProfile profile_ = DailyProfile::flat();
  int long_max_tokens_ = 4096;
  bool use_max_completion_ = false;
  int n_ = 1;
  double temperature_ = 0.7;
  bool stream_ = false;
  std::string system_;
  std::vector<std::string> wrappers_;
  std::vector<const Phrasing*> phrasings_;
  double given_answer_bias_ = 0.5;
  bool completions_endpoint_ = false;
  int bias_rotation_ = 0, bias_size_ = 10, bias_uses_ = 0, probe_max_tokens_ = 1;
  std::vector<std::string> bias_;
  std::optional<KeyLabel> label_;
  std::optional<ApiFormat> format_;
  FormatOptions fo_;
};

}  // namespace

PersonaPtr make_distiller_persona(DistillerKind kind, const DataSet&, Rng rng, double volume_scale,
                                  const DistillerOverrides& overrides) {
  return std::make_unique<DistillerPersona>(kind, rng, volume_scale, overrides);
}

}  // namespace dg::sim
