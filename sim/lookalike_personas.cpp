// Honest heavy users that share one trait or another with distillers:
// a batch classification job, an evaluation harness, a RAG pipeline and a
// coding agent.
#include <algorithm>
#include <array>

#include "sim/arrivals.hpp"
#include "sim/personas.hpp"
#include "sim/text.hpp"

namespace dg::sim {
namespace {

namespace json = boost::json;

/// Common identity set-up: one to three addresses in one /24, one user agent.
ClientIdentity business_identity(Rng& rng) {
  ClientIdentity id;
  id.key = make_api_key(rng);
  id.ips.push_back(random_public_ipv4(rng));
  for (auto i = rng.between(0, 2); i > 0; --i) id.ips.push_back(same_slash24(id.ips.front(), rng));
  id.user_agent = random_user_agent(rng);
  return id;
}

class LookalikeBase : public Persona {
 public:
  LookalikeBase(Rng rng, std::string persona) : rng_(rng), persona_(std::move(persona)) {
    id_ = business_identity(rng_);
    model_ = random_model(rng_);
  }
  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    return {{id_.key, KeyLabel{KeyClass::Lookalike, persona_, "", ""}}};
  }

 protected:
  SimRecord start_record(double ts) { return id_.start_record(ts, rng_); }
  Rng rng_;
  std::string persona_;
  ClientIdentity id_;
  std::string model_;
};

/// A nightly job labelling items with one prompt template; one-word outputs,
/// sometimes with logprobs (confidence) and a fixed logit_bias over the label tokens.
class BatchClassifier final : public LookalikeBase {
 public:
  BatchClassifier(Rng rng, double volume_scale) : LookalikeBase(rng, "lookalike/batch_classifier") {
    static constexpr std::array<const char*, 4> kTemplates = {
        "Classify the sentiment of the following customer review as positive, negative or neutral. Answer with one "
        "word.\n\nReview: \"{item}\"",
        "Which category fits this support ticket best: billing, technical, account, or other? Reply with the "
        "category only.\n\nTicket: {item}",
        "Is the following message spam? Answer yes or no.\n\nMessage:\n{item}",
        "Detect the language of the text below and answer with its ISO 639-1 code.\n\nText: {item}"};
    template_ = kTemplates[rng_.index(kTemplates.size())];
    if (rng_.chance(0.5)) system_ = "You are a precise text classifier.";
    items_per_run_ = static_cast<std::size_t>(static_cast<double>(rng_.between(800, 5000)) * volume_scale);
    if (volume_scale > 1) items_per_run_ = std::min<std::size_t>(items_per_run_, 600);  // demo: one short run
    run_hour_ = static_cast<double>(rng_.between(0, 23));
    rate_ = rng_.uniform(2, 12);
    max_tokens_ = std::array<int, 4>{1, 2, 5, 10}[rng_.index(4)];
    if (rng_.chance(0.45)) top_logprobs_ = static_cast<int>(rng_.between(2, 5));
    if (rng_.chance(0.3))
      for (int i = 0; i < 3; ++i) label_tokens_.push_back(std::to_string(rng_.between(100, 100000)));
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    std::vector<double> out;
    const double day0 = std::floor(ctx.start / 86400) * 86400;
    for (double day = day0; day < ctx.end; day += 86400) {
      if (!rng_.chance(0.85)) continue;  // the job does not run every day
      const double at = std::max(ctx.start, day + run_hour_ * 3600 + rng_.uniform(0, 600));
      append_run(out, at, items_per_run_, rate_, 0.4, ctx.end, rng_);
    }
    if (out.empty())  // short scenarios or skipped days: run once anyway
      append_run(out, ctx.start + rng_.uniform(0, std::min(600.0, (ctx.end - ctx.start) / 4)), items_per_run_, rate_,
                 0.4, ctx.end, rng_);
    std::sort(out.begin(), out.end());
    return out;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    json::array messages;
    if (!system_.empty()) messages.push_back(message("system", system_));
    const std::string item = truncate_utf8(rng_.pick(ctx.data.sharegpt), static_cast<std::size_t>(rng_.between(80, 600)));
    messages.push_back(message("user", fill_slot(template_, "item", item)));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0;
    r.request["max_tokens"] = max_tokens_;
    if (top_logprobs_ > 0) {
      r.request["logprobs"] = true;
      r.request["top_logprobs"] = top_logprobs_;
    }
    if (!label_tokens_.empty()) {
      json::object bias;
      for (const auto& t : label_tokens_) bias[t] = 10;
      r.request["logit_bias"] = std::move(bias);
    }
    finish_response(r, static_cast<std::uint64_t>(rng_.between(1, 3)), rng_);
    return r;
  }

 private:
  std::string template_, system_;
  std::size_t items_per_run_ = 1000;
  double run_hour_ = 2, rate_ = 5;
  int max_tokens_ = 5, top_logprobs_ = 0;
  std::vector<std::string> label_tokens_;
};

/// An evaluation harness: each GSM8K test question exactly once per run, at
/// temperature 0 with logprobs; one run per model under evaluation.
class EvalHarness final : public LookalikeBase {
 public:
  EvalHarness(const DataSet& data, Rng rng, double volume_scale) : LookalikeBase(rng, "lookalike/eval_harness") {
    shots_ = static_cast<int>(rng_.weighted({30, 10, 20, 40}));  // 0, 1-shot, 5-shot... see below
    shots_ = std::array<int, 4>{0, 3, 5, 8}[static_cast<std::size_t>(shots_)];
    cot_ = shots_ == 0 && rng_.chance(0.5);
    for (int i = 0; i < shots_; ++i) exemplars_.push_back(&rng_.pick(data.gsm8k_train));
    runs_ = static_cast<int>(rng_.between(1, 3));
    rate_ = rng_.uniform(1.5, 8) * std::max(1.0, volume_scale / 50);
    max_tokens_ = rng_.chance(0.5) ? 256 : 512;
    top_logprobs_ = static_cast<int>(rng_.between(0, 5));
    questions_ = data.gsm8k_test.size();
    if (volume_scale > 1) questions_ = std::min<std::size_t>(questions_, 400);
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    std::vector<double> out;
    const double span = ctx.end - ctx.start;
    for (int run = 0; run < runs_; ++run) {
      const double at = ctx.start + rng_.uniform(0, std::max(1.0, span * 0.8));
      append_run(out, at, questions_, rate_, 0.5, ctx.end, rng_);
      run_starts_.push_back(at);
    }
    std::sort(out.begin(), out.end());
    std::sort(run_starts_.begin(), run_starts_.end());
    return out;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    // Runs may overlap; each arrival takes the next question of the latest run
    // started, which keeps every question at most once per run.
    const auto& item = ctx.data.gsm8k_test[next_question_++ % questions_];
    std::string prompt;
    for (const auto* ex : exemplars_) prompt += "Question: " + ex->question + "\nAnswer: " + ex->answer + "\n\n";
    prompt += "Question: " + item.question + "\nAnswer:";
    if (cot_) prompt += " Let's think step by step.";
    json::array messages;
    messages.push_back(message("user", prompt));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0;
    r.request["max_tokens"] = max_tokens_;
    r.request["logprobs"] = true;
    if (top_logprobs_ > 0) r.request["top_logprobs"] = top_logprobs_;
    r.request["seed"] = 1234;
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(130, 0.4)), rng_);
    return r;
  }

 private:
  int shots_ = 0;
  bool cot_ = false;
  std::vector<const Gsm8kItem*> exemplars_;
  int runs_ = 1;
  double rate_ = 3;
  int max_tokens_ = 256, top_logprobs_ = 0;
  std::size_t questions_ = 0, next_question_ = 0;
  std::vector<double> run_starts_;
};

/// A retrieval-augmented support bot: long retrieved context, short answers,
/// office-hours traffic following a ServeGen client.
class RagPipeline final : public LookalikeBase {
 public:
  RagPipeline(const DataSet& data, Rng rng, double volume_scale) : LookalikeBase(rng, "lookalike/rag") {
    trace_ = &data.clients[rng_.index(data.clients.size())];
    per_day_ = std::clamp(rng_.lognormal(250, 0.6), 40.0, 1500.0) * volume_scale;
    trace_offset_ = static_cast<double>(rng_.between(0, 13)) * 86400;
    static constexpr std::array<const char*, 4> kSystems = {
        "You are the support assistant of {c}. Answer only from the context below. If the answer is not in the "
        "context, say you don't know. Cite the passage numbers you used.",
        "You answer questions about {c} products using the retrieved passages. Be brief and factual; quote the "
        "passage ids in brackets.",
        "Use the following pieces of retrieved context to answer the question. If you don't know, just say that you "
        "don't know. Use three sentences maximum and keep the answer concise.",
        "You are {c}'s internal knowledge-base assistant. Ground every statement in the provided documents."};
    system_ = fill_slot(kSystems[rng_.index(kSystems.size())], "c", rng_.chance(0.5) ? "Contoso" : "Fabrikam");
    max_tokens_ = rng_.chance(0.5) ? 300 : 512;
    chunks_ = static_cast<int>(rng_.between(3, 8));
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    for (int attempt = 0;; ++attempt) {  // re-draw idle clients, as benign keys do
      auto out = servegen_arrivals(*trace_, trace_offset_, per_day_ / trace_->mean_daily_requests, ctx.start, ctx.end,
                                   rng_);
      if (!out.empty() || attempt == 20) return out;
      trace_ = &ctx.data.clients[rng_.index(ctx.data.clients.size())];
    }
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const TokenPair& tp = rng_.pick(ctx.data.mooncake);
    const std::uint64_t context_tokens = std::clamp<std::uint64_t>(tp.input, 600, 2500);
    std::string user = "Context:\n";
    for (int i = 1; i <= chunks_; ++i)
      user += "[" + std::to_string(i) + "] " + filler_prose(ctx.data, rng_, context_tokens * 4 / chunks_) + "\n";
    user += "\nQuestion: " + truncate_utf8(rng_.pick(ctx.data.sharegpt), 300);
    json::array messages;
    messages.push_back(message("system", system_));
    messages.push_back(message("user", user));
    r.request["model"] = model_;
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0.1;
    r.request["max_tokens"] = max_tokens_;
    r.request["stream"] = true;
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(140, 0.5)), rng_);
    return r;
  }

 private:
  const ClientTrace* trace_ = nullptr;
  double per_day_ = 200, trace_offset_ = 0;
  std::string system_;
  int max_tokens_ = 300, chunks_ = 4;
};

/// A coding agent: sessions of tool loops (assistant tool calls and tool
/// results accumulate in the conversation), tools declared, office hours.
class CodingAgent final : public LookalikeBase {
 public:
  CodingAgent(Rng rng, double volume_scale) : LookalikeBase(rng, "lookalike/coding_agent") {
    sessions_per_day_ = rng_.uniform(6, 40) * volume_scale;
    peak_hour_ = rng_.uniform(6, 18);
    max_tokens_ = rng_.chance(0.5) ? 4096 : 8192;
    static constexpr std::array<const char*, 6> kTools = {"read_file", "write_file", "run_tests", "search_code",
                                                          "run_shell", "list_directory"};
    const auto ntools = static_cast<std::size_t>(rng_.between(3, 6));
    for (std::size_t i = 0; i < ntools; ++i) {
      json::object fn;
      fn["name"] = kTools[i];
      fn["description"] = std::string("Tool ") + kTools[i] + " of the workspace.";
      json::object params;
      params["type"] = "object";
      json::object props;
      props["path"] = json::object{{"type", "string"}};
      params["properties"] = std::move(props);
      fn["parameters"] = std::move(params);
      tools_.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    auto starts = profiled_arrivals(sessions_per_day_, 1.0, DailyProfile::office(peak_hour_, 0.05), ctx.start,
                                    ctx.end, rng_);
    std::vector<double> out;
    for (double s : starts) {
      const auto steps = rng_.between(3, 24);
      double t = s;
      for (std::int64_t i = 0; i < steps && t < ctx.end; ++i) {
        out.push_back(t);
        step_.push_back(static_cast<std::uint16_t>(i));
        t += rng_.lognormal(8, 0.7);  // model latency + tool execution
      }
    }
    // Sessions may overlap; keep each arrival with its step number while sorting.
    std::vector<std::size_t> order(out.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return out[a] < out[b]; });
    std::vector<double> sorted;
    std::vector<std::uint16_t> steps;
    for (auto i : order) {
      sorted.push_back(out[i]);
      steps.push_back(step_[i]);
    }
    step_ = std::move(steps);
    return sorted;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const std::uint16_t step = next_ < step_.size() ? step_[next_] : 0;
    ++next_;
    if (step == 0 || history_.empty()) {
      history_.clear();
      history_.push_back(message("system",
                                 "You are an autonomous coding agent working in the user's repository. Use the tools to "
                                 "inspect and change files, run the tests, and finish with a short summary."));
      history_.push_back(message("user", truncate_utf8(rng_.pick(ctx.data.sharegpt), 1200)));
    } else {
      // The previous turn's tool call and its result join the conversation.
      json::object call;
      call["role"] = "assistant";
      call["content"] = nullptr;
      const auto id = "call_" + std::to_string(rng_.between(100000, 999999));
      const auto& tool = tools_[rng_.index(tools_.size())].as_object().at("function").as_object().at("name");
      call["tool_calls"] = json::array{json::object{
          {"id", id},
          {"type", "function"},
          {"function", json::object{{"name", tool}, {"arguments", "{\"path\":\"src/module_" +
                                                                      std::to_string(rng_.between(1, 40)) + ".py\"}"}}}}};
      history_.push_back(std::move(call));
      json::object result;
      result["role"] = "tool";
      result["tool_call_id"] = id;
      result["content"] = filler_code(rng_, static_cast<std::size_t>(rng_.between(200, 2500)));
      history_.push_back(std::move(result));
      // Agents compact their context: keep system, task and the last few turns.
      while (history_.size() > 14) history_.erase(history_.begin() + 2, history_.begin() + 4);
    }
    r.request["model"] = model_;
    r.request["messages"] = history_;
    r.request["tools"] = tools_;
    r.request["tool_choice"] = "auto";
    r.request["temperature"] = 0;
    r.request["max_tokens"] = max_tokens_;
    r.request["stream"] = true;
    const TokenPair& tp = rng_.pick(ctx.data.azure_code);
    finish_response(r, std::max<std::uint64_t>(tp.output, 20) * static_cast<std::uint64_t>(rng_.between(1, 8)), rng_);
    return r;
  }

 private:
  double sessions_per_day_ = 10, peak_hour_ = 14;
  int max_tokens_ = 4096;
  json::array tools_;
  json::array history_;
  std::vector<std::uint16_t> step_;
  std::size_t next_ = 0;
};

}  // namespace

PersonaPtr make_lookalike_persona(LookalikeKind kind, const DataSet& data, Rng rng, double volume_scale) {
  switch (kind) {
    case LookalikeKind::BatchClassifier: return std::make_unique<BatchClassifier>(rng, volume_scale);
    case LookalikeKind::EvalHarness: return std::make_unique<EvalHarness>(data, rng, volume_scale);
    case LookalikeKind::Rag: return std::make_unique<RagPipeline>(data, rng, volume_scale);
    case LookalikeKind::CodingAgent: return std::make_unique<CodingAgent>(rng, volume_scale);
  }
  return nullptr;
}

}  // namespace dg::sim
