// Honest customers of the kinds a provider really has (see personas.hpp):
// reasoning-model customers, tutoring products, research groups running
// chain-of-thought evaluations, support bots, summarisation and translation
// pipelines, API routers, logprob calibration jobs, and bring-your-own-key
// apps. Every persona draws its shape (formats, models, rates, lengths,
// prompts) from its own random stream and its content from the data set.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "sim/arrivals.hpp"
#include "sim/multi_key.hpp"
#include "sim/personas.hpp"
#include "sim/text.hpp"

namespace dg::sim {
namespace {

namespace json = boost::json;

/// One to three addresses in one /24 (a company's cloud egress), an SDK agent.
ClientIdentity business_identity(Rng& rng, ApiFormat f) {
  ClientIdentity id;
  id.key = make_api_key(rng);
  id.ips.push_back(random_public_ipv4(rng));
  for (auto i = rng.between(0, 2); i > 0; --i) id.ips.push_back(same_slash24(id.ips.front(), rng));
  id.user_agent = sdk_user_agent(f, rng);
  return id;
}

ApiFormat draw_format(Rng& rng, std::optional<ApiFormat> fixed, std::vector<double> weights) {
  if (fixed) return *fixed;
  return kApiFormats[rng.weighted(weights)];
}

const std::vector<Gsm8kItem>& gsm8k_pool(const DataSet& d, bool test_first) {
  if (test_first) return d.gsm8k_test.empty() ? d.gsm8k_train : d.gsm8k_test;
  return d.gsm8k_train.empty() ? d.gsm8k_test : d.gsm8k_train;
}

/// A worked GSM8K answer as a model would have written it in an earlier turn
/// (the "#### N" marker replaced by a sentence).
std::string as_explanation(const Gsm8kItem& item) {
  std::string a = item.answer;
  if (auto pos = a.rfind("####"); pos != std::string::npos) a = a.substr(0, pos) + "So the answer is " + item.final_answer + ".";
  return a;
}

/// Arrivals of conversations: each session start brings 1 + more turns a
/// little apart. Returns the times in order and, per arrival, its session and turn.
struct SessionStep {
  std::uint32_t session = 0;
  std::uint16_t turn = 0;
  bool last = false;
};
template <class TurnsFn, class GapFn>
std::vector<double> session_arrivals(const std::vector<double>& starts, double end, Rng& rng, TurnsFn turns, GapFn gap,
                                     std::vector<SessionStep>& steps) {
  struct A {
    double t;
    SessionStep s;
  };
  std::vector<A> all;
  for (std::uint32_t s = 0; s < starts.size(); ++s) {
    const int n = std::max(1, turns(rng));
    double t = starts[s];
    for (int i = 0; i < n && t < end; ++i) {
      all.push_back({t, {s, static_cast<std::uint16_t>(i), i + 1 == n}});
      t += gap(rng);
    }
    if (!all.empty() && all.back().s.session == s) all.back().s.last = true;
  }
  std::stable_sort(all.begin(), all.end(), [](const A& a, const A& b) { return a.t < b.t; });
  std::vector<double> out;
  steps.clear();
  for (const auto& a : all) {
    out.push_back(a.t);
    steps.push_back(a.s);
  }
  return out;
}

class CustomerBase : public Persona {
 public:
  CustomerBase(Rng rng, CustomerKind kind) : rng_(rng), kind_(kind) {}
  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    return {{id_.key, KeyLabel{KeyClass::Benign, std::string(customer_label(kind_)), "", ""}}};
  }

 protected:
  SimRecord start_record(double ts) { return id_.start_record(ts, rng_); }
  /// ServeGen-driven arrivals (re-drawing idle clients, as benign keys do).
  std::vector<double> trace_arrivals(const SimContext& ctx, double per_day) {
    const ClientTrace* trace = &ctx.data.clients[rng_.index(ctx.data.clients.size())];
    const double offset = static_cast<double>(rng_.between(0, 13)) * 86400 + static_cast<double>(rng_.between(0, 23)) * 3600;
    for (int attempt = 0;; ++attempt) {
      auto out = servegen_arrivals(*trace, offset, per_day / trace->mean_daily_requests, ctx.start, ctx.end, rng_);
      if (!out.empty() || attempt == 20) return out;
      trace = &ctx.data.clients[rng_.index(ctx.data.clients.size())];
    }
  }

  Rng rng_;
  CustomerKind kind_;
  ClientIdentity id_;
};

// ---------------------------------------------------------------------------
// Reasoning-model customers: ordinary, varied prompts; long answers because
// the model reasons before it answers.

class ReasoningCustomer final : public CustomerBase {
 public:
  ReasoningCustomer(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::ReasoningCustomer) {
    format_ = draw_format(rng_, o.format, {45, 30, 0, 25});
    if (format_ == ApiFormat::Completions) format_ = ApiFormat::Chat;  // no reasoning on legacy completions
    id_ = business_identity(rng_, format_);
    fo_.model = format_model(format_, true, rng_);
    if (format_ == ApiFormat::Messages) {
      fo_.thinking_budget = std::array<int, 6>{1024, 2048, 4000, 8000, 16000, 32000}[rng_.weighted({10, 15, 25, 25, 15, 10})];
      max_tokens_ = std::max(fo_.thinking_budget + 2048, std::array<int, 4>{8192, 16000, 32000, 64000}[rng_.index(4)]);
    } else {
      fo_.reasoning_effort = std::array<const char*, 3>{"low", "medium", "high"}[rng_.weighted({15, 50, 35})];
      if (rng_.chance(0.7)) max_tokens_ = std::array<int, 4>{8000, 16000, 25000, 32000}[rng_.index(4)];
    }
    stream_ = rng_.chance(0.65);
    per_day_ = std::clamp(rng_.lognormal(70, 1.0), 5.0, 2500.0) * o.volume_scale;
    multi_turn_ = rng_.uniform(0.1, 0.6);
    static constexpr std::array<const char*, 6> kSystems = {
        "You are a helpful assistant.",
        "You are an analyst at {c}. Think carefully and give well-supported answers.",
        "You are {c}'s research assistant. Cite assumptions explicitly.",
        "You are a senior engineer at {c}. Prefer correct, working solutions over quick ones.",
        "You help {c}'s legal team reason through contracts. Be precise.",
        "You are a planning assistant for {c}. Weigh options before recommending one."};
    static constexpr std::array<const char*, 6> kCompanies = {"Acme", "Northwind", "Globex", "Initech", "Hooli",
                                                              "Contoso"};
    if (rng_.chance(0.45))
      system_ = fill_slot(kSystems[rng_.index(kSystems.size())], "c", kCompanies[rng_.index(kCompanies.size())]);
    // How much this customer's questions make the model think (relative).
    think_scale_ = rng_.lognormal(1.0, 0.4);
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    // The rates and token sizes of a real reasoning-model client when the
    // data has them (ServeGen deepseek-r1: one day, repeated).
    if (ctx.data.reason_clients.empty()) return trace_arrivals(ctx, per_day_);
    for (int attempt = 0;; ++attempt) {
      reason_ = &ctx.data.reason_clients[rng_.index(ctx.data.reason_clients.size())];
      const double offset = static_cast<double>(rng_.between(0, 143)) * 600;
      auto out = servegen_arrivals(reason_->trace, offset, per_day_ / reason_->trace.mean_daily_requests, ctx.start,
                                   ctx.end, rng_);
      if (!out.empty() || attempt == 20) return out;
    }
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const DataSet& d = ctx.data;
    const TokenPair* sized = reason_ && !reason_->tokens.empty() ? &rng_.pick(reason_->tokens) : nullptr;
    json::array messages;
    if (!system_.empty()) messages.push_back(message("system", system_));
    if (rng_.chance(multi_turn_)) {
      const auto turns = rng_.between(1, 3);
      for (std::int64_t i = 0; i < turns; ++i) {
        messages.push_back(message("user", truncate_utf8(rng_.pick(d.sharegpt), 1500)));
        messages.push_back(message("assistant", filler_prose(d, rng_, static_cast<std::size_t>(rng_.between(400, 4000)))));
      }
    }
    std::string user = truncate_utf8(rng_.pick(d.sharegpt), sized ? std::max<std::size_t>(200, sized->input * 4u) : 8000);
    if (rng_.chance(0.15)) user = "```\n" + filler_code(rng_, static_cast<std::size_t>(rng_.between(300, 3000))) + "\n```\n" + user;
    messages.push_back(message("user", user));
    r.request["model"] = "m";
    r.request["messages"] = std::move(messages);
    if (max_tokens_ > 0) r.request["max_tokens"] = max_tokens_;
    if (stream_) {
      r.request["stream"] = true;
      if (format_ == ApiFormat::Chat) r.request["stream_options"] = json::object{{"include_usage", true}};
    }
    to_format(r, format_, fo_);
    if (sized) {
      // The client's real output size (reasoning included), scaled by how
      // hard this customer's settings make the model think.
      double scale = think_scale_;
      if (fo_.thinking_budget > 0) scale *= std::clamp(fo_.thinking_budget / 8000.0, 0.4, 2.5);
      else scale *= fo_.reasoning_effort == "low" ? 0.6 : fo_.reasoning_effort == "medium" ? 1.0 : 1.6;
      finish_response(r, static_cast<std::uint64_t>(std::max(1.0, sized->output * scale)), rng_);
      return r;
    }
    // Reasoning tokens count as completion tokens, then the visible answer.
    double think = 0;
    if (fo_.thinking_budget > 0) {
      think = std::min<double>(fo_.thinking_budget, rng_.lognormal(0.45 * fo_.thinking_budget, 0.6) * think_scale_);
    } else {
      const double median = fo_.reasoning_effort == "low" ? 600 : fo_.reasoning_effort == "medium" ? 1800 : 4500;
      think = rng_.lognormal(median, 0.7) * think_scale_;
    }
    const double answer = std::max<double>(40, rng_.pick(d.azure_conv).output * rng_.uniform(0.8, 2.5));
    finish_response(r, static_cast<std::uint64_t>(think + answer), rng_);
    return r;
  }

 private:
  ApiFormat format_ = ApiFormat::Chat;
  FormatOptions fo_;
  int max_tokens_ = 0;
  bool stream_ = false;
  double per_day_ = 50, multi_turn_ = 0.3, think_scale_ = 1;
  std::string system_;
  const ReasonClient* reason_ = nullptr;
};

// ---------------------------------------------------------------------------
// Tutoring / education products: one key for many students, a step-by-step
// tutor prompt, homework questions WITHOUT their answers, follow-ups.

constexpr std::array<const char*, 6> kPlatforms = {"Mathwise", "Tutorly", "HomeworkHero", "LearnLoop",
                                                   "Quillo Academy", "BrightPath"};
constexpr std::array<const char*, 6> kTutorSystems = {
    "You are {p}, a patient tutor for middle- and high-school students. Explain step by step, check the student's "
    "understanding, and keep the language simple.",
    "You are a friendly math tutor on {p}. Think step by step and explain each step so that a 12-year-old can follow. "
    "Encourage the student.",
    "You are {p}'s homework helper. Walk the student through the solution one step at a time. Use short sentences and "
    "show the arithmetic.",
    "You are an AI tutor for {p}. Break every problem into small steps, explain why each step is needed, and end with "
    "a short summary of the method.",
    "Eres el tutor de {p}. Explica paso a paso, con palabras sencillas, y comprueba que el estudiante entiende.",
    "You are a Socratic tutor on {p}. Guide the student step by step; explain the reasoning behind every step."};
constexpr std::array<const char*, 9> kStudentAsks = {
    "{q}", "I don't understand this problem: {q}", "can u help me with my homework? {q}", "How do I solve this? {q}",
    "{q} Please explain how to do it.", "my teacher gave us this and I'm stuck\n{q}", "{q}\nhow do i start??",
    "Can you explain this word problem step by step? {q}", "Help with question 4 of my worksheet: {q}"};
constexpr std::array<const char*, 8> kFollowUps = {
    "Why did you multiply there?", "Can you explain step 2 again? I don't get it.",
    "I still don't get it, can you use simpler words?", "What if the number was {x} instead?",
    "I got {x}. Where did I go wrong?", "Thanks! Can you give me a similar problem to practice?",
    "Is there a faster way to do this?", "ok so what do I write as the answer"};

class Tutoring final : public CustomerBase {
 public:
  Tutoring(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::Tutoring) {
    format_ = draw_format(rng_, o.format, {60, 25, 0, 15});
    if (format_ == ApiFormat::Completions) format_ = ApiFormat::Chat;
    id_ = business_identity(rng_, format_);
    const bool reasoning = rng_.chance(0.25);
    fo_.model = format_model(format_, reasoning, rng_);
    if (reasoning) {
      if (format_ == ApiFormat::Messages) fo_.thinking_budget = 2048;
      else fo_.reasoning_effort = "low";
    }
    platform_ = kPlatforms[rng_.index(kPlatforms.size())];
    system_ = fill_slot(kTutorSystems[rng_.index(kTutorSystems.size())], "p", platform_);
    per_day_ = std::clamp(rng_.lognormal(900, 0.8), 100.0, 6000.0) * o.volume_scale;
    tz_ = static_cast<double>(rng_.between(-8, 9));
    max_tokens_ = std::array<int, 4>{800, 1024, 1500, 2048}[rng_.index(4)];
    temperature_ = std::array<double, 3>{0.3, 0.5, 0.7}[rng_.index(3)];
    homework_share_ = rng_.uniform(0.0, 0.2);
    follow_up_mean_ = rng_.uniform(0.4, 1.5);
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    // School hours and homework evenings in the platform's time zone.
    DailyProfile p{};
    for (int h = 0; h < 24; ++h) {
      const double local = std::fmod(h + tz_ + 48, 24.0);
      const double school = std::exp(-std::pow(local - 11.5, 2) / (2 * 2.0 * 2.0));
      const double evening = 1.3 * std::exp(-std::pow(local - 19, 2) / (2 * 1.8 * 1.8));
      p.hour_weight[h] = 0.03 + school + evening;
    }
    const double turns = 1 + follow_up_mean_;
    auto starts = profiled_arrivals(per_day_ / turns, 1.2, p, ctx.start, ctx.end, rng_);
    thin_weekends(starts, tz_, 0.4, rng_);
    const double mean_follow = follow_up_mean_;
    return session_arrivals(
        starts, ctx.end, rng_,
        [mean_follow](Rng& r) {
          int n = 1;
          while (n < 6 && r.chance(mean_follow / (1 + mean_follow))) ++n;
          return n;
        },
        [](Rng& r) { return r.lognormal(75, 0.6); }, steps_);
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const SessionStep step = next_ < steps_.size() ? steps_[next_] : SessionStep{};
    ++next_;
    auto& conv = conversations_[step.session];
    if (conv.history.empty()) {
      conv.history.push_back(message("system", system_));
      std::string ask;
      if (rng_.chance(homework_share_) && !ctx.data.alpaca.empty()) {
        const auto& ins = rng_.pick(ctx.data.alpaca);
        ask = "My teacher asked us to do this: " + ins.instruction + (ins.input.empty() ? "" : "\n" + ins.input) +
              "\nCan you explain how to do it?";
      } else {
        const auto& pool = gsm8k_pool(ctx.data, rng_.chance(0.3));
        conv.item = &rng_.pick(pool);
        ask = fill_slot(kStudentAsks[rng_.index(kStudentAsks.size())], "q", conv.item->question);
        if (rng_.chance(0.2)) std::transform(ask.begin(), ask.end(), ask.begin(), [](unsigned char c) { return std::tolower(c); });
      }
      conv.history.push_back(message("user", ask));
    } else {
      // The tutor's previous explanation, then the student's follow-up.
      conv.history.push_back(message("assistant", conv.item ? as_explanation(*conv.item)
                                                            : filler_prose(ctx.data, rng_, 900)));
      std::string follow = kFollowUps[rng_.index(kFollowUps.size())];
      std::int64_t x = rng_.between(2, 120);
      if (conv.item && !conv.item->final_answer.empty()) {
        try {
          x = std::stoll(conv.item->final_answer) + rng_.between(-9, 9);  // a student's (often wrong) result
        } catch (const std::exception&) {
        }
      }
      conv.history.push_back(message("user", fill_slot(follow, "x", std::to_string(x))));
    }
    r.request["model"] = "m";
    r.request["messages"] = conv.history;
    r.request["max_tokens"] = max_tokens_;
    r.request["temperature"] = temperature_;
    r.request["stream"] = true;
    to_format(r, format_, fo_);
    const double base = step.turn == 0 ? rng_.lognormal(360, 0.45) : rng_.lognormal(190, 0.5);
    const double think = fo_.reasoning_effort.empty() && fo_.thinking_budget == 0 ? 0 : rng_.lognormal(500, 0.6);
    finish_response(r, static_cast<std::uint64_t>(base + think), rng_);
    if (step.last) conversations_.erase(step.session);
    return r;
  }

 private:
  struct Conversation {
    json::array history;
    const Gsm8kItem* item = nullptr;
  };
  ApiFormat format_ = ApiFormat::Chat;
  FormatOptions fo_;
  std::string platform_, system_;
  double per_day_ = 500, tz_ = 0, temperature_ = 0.5, homework_share_ = 0.1, follow_up_mean_ = 0.8;
  int max_tokens_ = 1024;
  std::vector<SessionStep> steps_;
  std::size_t next_ = 0;
  std::map<std::uint32_t, Conversation> conversations_;
};

// ---------------------------------------------------------------------------
// A research group running chain-of-thought evaluations on public benchmarks
// at temperature 0: a few bounded runs, one model each, then quiet.

constexpr std::array<const char*, 5> kCotPrompts = {
    "Q: {q}\nA: Let's think step by step.",
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "\"Answer: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem.\n\n{q}\n\nRemember to put your "
    "answer on its own line after \"Answer:\".",
    "Question: {q}\nThink step by step, then give the final answer after '####'.",
    "Answer the following question. Reason step by step and put your final answer within \\boxed{}.\n\n{q}",
    "{q}\nPlease reason step by step."};

class CotEval final : public CustomerBase {
 public:
  CotEval(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::CotEval), fixed_format_(o.format) {
    id_.key = make_api_key(rng_);
    id_.ips.push_back(random_public_ipv4(rng_));  // the lab's network
    if (rng_.chance(0.5)) id_.ips.push_back(same_slash24(id_.ips.front(), rng_));
    id_.user_agent = rng_.chance(0.6) ? sdk_user_agent(ApiFormat::Chat, rng_) : std::string("python-httpx/0.27.2");
    prompt_ = kCotPrompts[rng_.index(kCotPrompts.size())];
    shots_ = rng_.chance(0.3) ? static_cast<int>(rng_.between(4, 8)) : 0;
    runs_ = static_cast<int>(rng_.between(2, 4));
    volume_scale_ = o.volume_scale;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    std::vector<double> out;
    const double span = ctx.end - ctx.start;
    // Runs start on working days, a day or more apart.
    std::vector<double> starts;
    for (int i = 0; i < runs_; ++i) starts.push_back(ctx.start + rng_.uniform(0.02, 0.85) * span);
    std::sort(starts.begin(), starts.end());
    for (double at : starts) {
      Run run;
      run.format = fixed_format_ ? *fixed_format_ : kApiFormats[rng_.weighted({55, 20, 0, 25})];
      if (run.format == ApiFormat::Completions) run.format = ApiFormat::Chat;
      const bool reasoning = rng_.chance(0.4);
      run.fo.model = format_model(run.format, reasoning, rng_);
      if (reasoning) {
        if (run.format == ApiFormat::Messages) run.fo.thinking_budget = 4000;
        else run.fo.reasoning_effort = rng_.chance(0.5) ? "medium" : "high";
      }
      run.logprobs = !reasoning && run.format != ApiFormat::Messages && rng_.chance(0.3);
      run.max_tokens = std::array<int, 3>{512, 1024, 2048}[rng_.index(3)];
      run.requests = static_cast<std::size_t>(std::max(50.0, static_cast<double>(rng_.between(1000, 3000)) * volume_scale_));
      const double hours = rng_.uniform(1.5, 7);
      run.start = out.empty() ? at : std::max(at, out.back() + 3600);
      const std::size_t before = out.size();
      append_run(out, run.start, run.requests, static_cast<double>(run.requests) / (hours * 3600), 0.6, ctx.end, rng_);
      run.requests = out.size() - before;
      runs.push_back(run);
    }
    return out;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    while (run_ + 1 < runs.size() && done_in_run_ >= runs[run_].requests) {
      ++run_;
      done_in_run_ = 0;
    }
    const Run& run = runs[std::min(run_, runs.size() - 1)];
    const auto& bench = gsm8k_pool(ctx.data, true);
    const auto& item = bench[done_in_run_++ % bench.size()];  // every question once per pass, in order
    std::string prompt;
    const auto& train = gsm8k_pool(ctx.data, false);
    for (int i = 0; i < shots_ && !train.empty(); ++i) {
      const auto& ex = train[static_cast<std::size_t>(i * 37) % train.size()];  // fixed exemplars
      prompt += "Q: " + ex.question + "\nA: " + as_explanation(ex) + "\n\n";
    }
    prompt += fill_slot(prompt_, "q", item.question);
    json::array messages;
    messages.push_back(message("user", prompt));
    r.request["model"] = "m";
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0;
    r.request["max_tokens"] = run.max_tokens;
    if (run.logprobs) {
      r.request["logprobs"] = true;
      r.request["top_logprobs"] = 5;
    }
    if (rng_.chance(0.5)) r.request["seed"] = 0;
    to_format(r, run.format, run.fo);
    double completion = rng_.lognormal(230, 0.4);
    if (run.fo.reasons()) completion += rng_.lognormal(1500, 0.6);
    finish_response(r, static_cast<std::uint64_t>(completion), rng_);
    return r;
  }

 private:
  struct Run {
    ApiFormat format = ApiFormat::Chat;
    FormatOptions fo;
    bool logprobs = false;
    int max_tokens = 1024;
    std::size_t requests = 0;
    double start = 0;
  };
  std::optional<ApiFormat> fixed_format_;
  std::string prompt_;
  int shots_ = 0, runs_ = 2;
  double volume_scale_ = 1;
  std::vector<Run> runs;
  std::size_t run_ = 0, done_in_run_ = 0;
};

// ---------------------------------------------------------------------------
// A support bot: one key, many end users, multi-turn conversations, short
// answers, office hours, streaming.

class SupportBot final : public CustomerBase {
 public:
  SupportBot(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::SupportBot) {
    format_ = draw_format(rng_, o.format, {65, 20, 0, 15});
    if (format_ == ApiFormat::Completions) format_ = ApiFormat::Chat;
    id_ = business_identity(rng_, format_);
    fo_.model = format_model(format_, false, rng_);
    static constexpr std::array<const char*, 4> kCompanies = {"Fabrikam Telecom", "Woodgrove Bank", "Tailspin Air",
                                                              "Litware Cloud"};
    const std::string company = kCompanies[rng_.index(kCompanies.size())];
    system_ = "You are the customer support assistant of " + company +
              ". Be polite and brief. Never promise refunds; offer to escalate billing disputes to a human agent. "
              "Ask for the order or account number when needed.";
    per_day_ = std::clamp(rng_.lognormal(1500, 0.8), 200.0, 12000.0) * o.volume_scale;
    peak_ = rng_.uniform(8, 20);
    max_tokens_ = rng_.chance(0.5) ? 400 : 800;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    auto starts = profiled_arrivals(per_day_ / 3, 1.1, DailyProfile::office(peak_, 0.08), ctx.start, ctx.end, rng_);
    return session_arrivals(
        starts, ctx.end, rng_, [](Rng& r) { return static_cast<int>(r.between(1, 6)); },
        [](Rng& r) { return r.lognormal(40, 0.7); }, steps_);
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const SessionStep step = next_ < steps_.size() ? steps_[next_] : SessionStep{};
    ++next_;
    auto& h = conversations_[step.session];
    if (h.empty()) h.push_back(message("system", system_));
    else h.push_back(message("assistant", filler_prose(ctx.data, rng_, static_cast<std::size_t>(rng_.between(150, 700)))));
    h.push_back(message("user", truncate_utf8(rng_.pick(ctx.data.sharegpt), static_cast<std::size_t>(rng_.between(40, 500)))));
    r.request["model"] = "m";
    r.request["messages"] = h;
    r.request["max_tokens"] = max_tokens_;
    r.request["temperature"] = 0.3;
    r.request["stream"] = true;
    to_format(r, format_, fo_);
    finish_response(r, static_cast<std::uint64_t>(rng_.lognormal(120, 0.6)), rng_);
    if (step.last) conversations_.erase(step.session);
    return r;
  }

 private:
  ApiFormat format_ = ApiFormat::Chat;
  FormatOptions fo_;
  std::string system_;
  double per_day_ = 1000, peak_ = 14;
  int max_tokens_ = 400;
  std::vector<SessionStep> steps_;
  std::size_t next_ = 0;
  std::map<std::uint32_t, json::array> conversations_;
};

// ---------------------------------------------------------------------------
// Summarisation and translation pipelines: one template over a stream of
// documents; summaries are short, translations about as long as the input.

class Pipeline final : public CustomerBase {
 public:
  Pipeline(Rng rng, CustomerKind kind, const CustomerOptions& o) : CustomerBase(rng, kind) {
    format_ = draw_format(rng_, o.format, {70, 15, 5, 10});
    id_ = business_identity(rng_, format_);
    fo_.model = format_model(format_, false, rng_);
    if (kind == CustomerKind::Summarization) {
      static constexpr std::array<const char*, 4> kTemplates = {
          "Summarize the following article in three sentences.\n\n{doc}",
          "Write a one-paragraph executive summary of the meeting transcript below.\n\nTranscript:\n{doc}",
          "TL;DR the following support ticket thread for the agent taking over:\n{doc}",
          "Extract the key points of this document as 3-5 bullet points.\n\n\"\"\"\n{doc}\n\"\"\""};
      template_ = kTemplates[rng_.index(kTemplates.size())];
    } else {
      static constexpr std::array<const char*, 6> kLangs = {"German", "Spanish", "French", "Japanese", "Portuguese",
                                                            "Korean"};
      const auto n = rng_.between(1, 4);
      for (std::int64_t i = 0; i < n; ++i) langs_.push_back(kLangs[rng_.index(kLangs.size())]);
      static constexpr std::array<const char*, 3> kTemplates = {
          "Translate the following text from English to {lang}. Output only the translation.\n\n{doc}",
          "You are a professional translator. Translate into {lang}, keeping formatting and placeholders:\n{doc}",
          "Translate to {lang}:\n\n{doc}"};
      template_ = kTemplates[rng_.index(kTemplates.size())];
    }
    per_day_ = std::clamp(rng_.lognormal(1200, 0.9), 100.0, 15000.0) * o.volume_scale;
    batch_ = rng_.chance(0.4);
    run_hour_ = static_cast<double>(rng_.between(0, 23));
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    if (!batch_) return profiled_arrivals(per_day_, 1.4, DailyProfile::office(rng_.uniform(0, 24), 0.3), ctx.start, ctx.end, rng_);
    std::vector<double> out;
    for (double day = std::floor(ctx.start / 86400) * 86400; day < ctx.end; day += 86400) {
      const double at = std::max(ctx.start, day + run_hour_ * 3600);
      append_run(out, at, static_cast<std::size_t>(per_day_ * rng_.uniform(0.7, 1.3)), rng_.uniform(0.5, 4), 0.5, ctx.end, rng_);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const bool summary = kind_ == CustomerKind::Summarization;
    const std::size_t chars = summary ? static_cast<std::size_t>(rng_.between(1500, 12000))
                                      : static_cast<std::size_t>(rng_.between(100, 2500));
    const std::string doc = summary ? filler_prose(ctx.data, rng_, chars) : truncate_utf8(rng_.pick(ctx.data.sharegpt), chars);
    std::string prompt = fill_slot(template_, "doc", doc);
    if (!langs_.empty()) prompt = fill_slot(prompt, "lang", langs_[rng_.index(langs_.size())]);
    json::array messages;
    messages.push_back(message("user", prompt));
    r.request["model"] = "m";
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = summary ? 0.2 : 0.0;
    r.request["max_tokens"] = summary ? 300 : 4096;
    to_format(r, format_, fo_);
    const double out = summary ? rng_.lognormal(110, 0.4) : static_cast<double>(estimate_tokens(doc)) * rng_.uniform(1.0, 1.6);
    finish_response(r, static_cast<std::uint64_t>(out), rng_);
    return r;
  }

 private:
  ApiFormat format_ = ApiFormat::Chat;
  FormatOptions fo_;
  std::string template_;
  std::vector<std::string> langs_;
  double per_day_ = 1000, run_hour_ = 2;
  bool batch_ = false;
};

// ---------------------------------------------------------------------------
// An API router: one key, many end users, several models and formats,
// content of every kind.

class ApiRouter final : public CustomerBase {
 public:
  ApiRouter(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::ApiRouter), fixed_format_(o.format) {
    id_.key = make_api_key(rng_);
    for (int n = 0; n < 2; ++n) {
      const std::string base = random_public_ipv4(rng_);
      for (int i = 0; i < 3; ++i) id_.ips.push_back(same_slash24(base, rng_));
    }
    id_.user_agent = rng_.chance(0.5) ? std::string("Go-http-client/2.0") : std::string("undici");
    per_day_ = std::clamp(rng_.lognormal(6000, 0.7), 1000.0, 40000.0) * o.volume_scale;
    for (int i = 0; i < 5; ++i) {
      Route route;
      route.format = fixed_format_ ? *fixed_format_ : kApiFormats[rng_.weighted({55, 15, 5, 25})];
      const bool reasoning = route.format != ApiFormat::Completions && rng_.chance(0.3);
      route.fo.model = format_model(route.format, reasoning, rng_);
      if (reasoning) {
        if (route.format == ApiFormat::Messages) route.fo.thinking_budget = 4000;
        else route.fo.reasoning_effort = "medium";
      }
      routes_.push_back(route);
    }
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    return profiled_arrivals(per_day_, 1.3, DailyProfile::office(rng_.uniform(12, 18), 0.35), ctx.start, ctx.end, rng_);
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const Route& route = routes_[rng_.weighted({40, 25, 15, 12, 8})];
    json::array messages;
    if (rng_.chance(0.3)) messages.push_back(message("system", "You are a helpful assistant."));
    if (rng_.chance(0.3)) {
      messages.push_back(message("user", truncate_utf8(rng_.pick(ctx.data.sharegpt), 1200)));
      messages.push_back(message("assistant", filler_prose(ctx.data, rng_, 800)));
    }
    std::string user = truncate_utf8(rng_.pick(ctx.data.sharegpt), 4000);
    if (rng_.chance(0.2)) user = "```\n" + filler_code(rng_, static_cast<std::size_t>(rng_.between(200, 2000))) + "\n```\n" + user;
    messages.push_back(message("user", user));
    r.request["model"] = "m";
    r.request["messages"] = std::move(messages);
    if (rng_.chance(0.6)) r.request["max_tokens"] = std::array<int, 4>{1024, 2048, 4096, 8192}[rng_.index(4)];
    if (rng_.chance(0.5)) r.request["temperature"] = std::array<double, 3>{0.3, 0.7, 1.0}[rng_.index(3)];
    if (rng_.chance(0.7)) r.request["stream"] = true;
    to_format(r, route.format, route.fo);
    double out = rng_.pick(ctx.data.azure_conv).output;
    if (route.fo.reasons()) out += rng_.lognormal(1500, 0.7);
    finish_response(r, static_cast<std::uint64_t>(out), rng_);
    return r;
  }

 private:
  struct Route {
    ApiFormat format = ApiFormat::Chat;
    FormatOptions fo;
  };
  std::optional<ApiFormat> fixed_format_;
  std::vector<Route> routes_;
  double per_day_ = 5000;
};

// ---------------------------------------------------------------------------
// A logprob calibration job: a fixed evaluation set scored with logprobs at
// temperature 0 and tiny max_tokens, re-run now and then (same items).

class LogprobCalibration final : public CustomerBase {
 public:
  LogprobCalibration(Rng rng, const CustomerOptions& o) : CustomerBase(rng, CustomerKind::LogprobCalibration) {
    format_ = draw_format(rng_, o.format, {55, 15, 30, 0});
    if (format_ == ApiFormat::Messages) format_ = ApiFormat::Chat;  // Anthropic has no logprobs
    id_ = business_identity(rng_, format_);
    fo_.model = format_model(format_, false, rng_);
    if (format_ == ApiFormat::Completions) {
      fo_.echo = rng_.chance(0.5);  // lm-eval-harness style log-likelihood of a given continuation
      fo_.completions_logprobs = static_cast<int>(rng_.between(1, 5));
    }
    static constexpr std::array<const char*, 3> kTemplates = {
        "Question: {q}\nIs the following answer correct? Answer: {a}\nReply Yes or No.",
        "{q}\nThe answer is",
        "Rate how confident you are that this answer is right (0-9).\nQuestion: {q}\nProposed answer: {a}\nConfidence:"};
    template_ = kTemplates[rng_.index(kTemplates.size())];
    items_ = static_cast<std::size_t>(rng_.between(300, 1500));
    runs_ = static_cast<int>(rng_.between(2, 6));
    top_ = static_cast<int>(rng_.between(5, 20));
    max_tokens_ = static_cast<int>(rng_.between(1, 3));
    volume_scale_ = o.volume_scale;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    std::vector<double> out;
    std::vector<double> starts;
    for (int i = 0; i < runs_; ++i) starts.push_back(ctx.start + rng_.uniform(0, 0.9) * (ctx.end - ctx.start));
    std::sort(starts.begin(), starts.end());
    const auto n = static_cast<std::size_t>(std::max(20.0, static_cast<double>(items_) * volume_scale_));
    for (double at : starts) append_run(out, std::max(at, out.empty() ? at : out.back() + 60), n, rng_.uniform(1, 6), 0.5, ctx.end, rng_);
    return out;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = start_record(ts);
    const auto& pool = gsm8k_pool(ctx.data, true);
    const auto& item = pool[(done_++ % items_) % pool.size()];  // the same fixed set every run
    std::string prompt = fill_slot(fill_slot(template_, "q", item.question), "a", item.final_answer);
    json::array messages;
    messages.push_back(message("user", prompt));
    r.request["model"] = "m";
    r.request["messages"] = std::move(messages);
    r.request["temperature"] = 0;
    r.request["max_tokens"] = max_tokens_;
    r.request["logprobs"] = true;
    r.request["top_logprobs"] = top_;
    to_format(r, format_, fo_);
    if (fo_.echo) r.request["max_tokens"] = 0;  // scoring the given text only
    finish_response(r, static_cast<std::uint64_t>(max_tokens_), rng_);
    return r;
  }

 private:
  ApiFormat format_ = ApiFormat::Chat;
  FormatOptions fo_;
  std::string template_;
  std::size_t items_ = 500, done_ = 0;
  int runs_ = 3, top_ = 5, max_tokens_ = 1;
  double volume_scale_ = 1;
};

// ---------------------------------------------------------------------------
// Bring-your-own-key apps.

struct ByokApp {
  const char* name;
  const char* system;
  const char* frame;  ///< {text} is the user's content
  double answer_scale;
};
constexpr std::array<ByokApp, 5> kByokApps = {{
    {"Quillbot Pro Writer", "You are the writing assistant inside {app}. Improve the user's text while keeping their "
     "voice. Never add facts. Answer in the language of the text.",
     "<task>Improve the following text.</task>\n<text>\n{text}\n</text>\nReturn only the improved text.", 1.2},
    {"DevPilot", "You are {app}, a coding assistant running in the user's editor. Be concise; prefer code over prose.",
     "Context from the open file:\n```\n{code}\n```\n\nUser request: {text}", 1.5},
    {"NoteNest", "You are {app}'s note assistant. Summarise, organise and answer questions about the user's notes.",
     "Here is my note:\n---\n{text}\n---\nWhat should I do next, based on this note?", 1.0},
    {"ChatDesk", "You are a helpful assistant in {app}, a desktop chat client. Format answers in Markdown.",
     "{text}", 1.0},
    {"MailMate", "You are {app}, an email assistant. Draft clear, friendly replies. Keep them short.",
     "Draft a reply to this email. My notes: {text}", 0.6},
}};
/// A study app whose students bring their own keys: homework questions
/// (GSM8K-like, without answers) under one frame that asks for steps.
constexpr ByokApp kStudyApp = {
    "StudyMate", "You are {app}, a study helper for students. Explain step by step and check that the student "
    "understands; do not just give the final answer.",
    "Homework question:\n{text}\n\nExplain step by step so I can learn how to solve it.", 0};

class ByokAppPersona final : public Persona {
 public:
  ByokAppPersona(Rng rng, const ByokOptions& o) : rng_(rng), o_(o) {
    app_ = &kByokApps[rng_.index(kByokApps.size())];
    if (o_.kind == "study") app_ = &kStudyApp;
    const std::string version_base = std::to_string(rng_.between(1, 4)) + "." + std::to_string(rng_.between(0, 9));
    models_ = {format_model(ApiFormat::Chat, false, rng_), format_model(ApiFormat::Chat, false, rng_),
               format_model(ApiFormat::Chat, true, rng_)};
    claude_ = format_model(ApiFormat::Messages, false, rng_);
    std::set<std::string> nets;
    auto fresh_ip = [&]() {
      for (;;) {
        std::string ip = random_public_ipv4(rng_);
        if (nets.insert(ip.substr(0, ip.rfind('.'))).second) return ip;
      }
    };
    static constexpr std::array<const char*, 4> kOsNames = {"Macintosh; Intel Mac OS X 14_5", "Windows NT 10.0; Win64",
                                                              "X11; Linux x86_64", "Macintosh; arm64"};
    for (int u = 0; u < std::max(1, o_.users); ++u) {
      User user;
      user.id.key = make_api_key(rng_);
      if (rng_.chance(0.1)) user.id.ips.push_back(random_ipv6(rng_));
      else user.id.ips.push_back(fresh_ip());
      if (rng_.chance(0.3)) user.id.ips.push_back(fresh_ip());  // phone, office or café
      // The app's own agent, at the version this user runs, or its SDK's.
      const std::string version = version_base + "." + std::to_string(rng_.between(0, 12));
      user.format = o_.format ? *o_.format : (rng_.chance(0.2) ? ApiFormat::Messages : ApiFormat::Chat);
      user.id.user_agent = rng_.chance(0.7) ? std::string(app_->name) + "/" + version + " (" +
                                                  kOsNames[rng_.index(kOsNames.size())] + ")"
                                            : sdk_user_agent(user.format, rng_);
      user.model = user.format == ApiFormat::Messages ? claude_ : models_[rng_.weighted({60, 30, 10})];
      user.per_day = std::clamp(rng_.lognormal(o_.per_day_median, 1.0), 0.5, 80.0);
      user.tz = static_cast<double>(rng_.between(-8, 10));
      user.peak = rng_.uniform(9, 22);
      user.active_days = rng_.uniform(0.3, 1.0);
      user.joins_after_days = rng_.chance(0.25) ? rng_.uniform(0, 4) : 0;
      user.stream = rng_.chance(0.85);
      users_.push_back(std::move(user));
    }
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    std::vector<std::pair<std::string, KeyLabel>> out;
    const std::string persona = app_ == &kStudyApp ? "benign/byok_study_app" : "benign/byok_app";
    for (const auto& u : users_) out.emplace_back(u.id.key, KeyLabel{KeyClass::Benign, persona, "", o_.app});
    return out;
  }

  std::vector<double> schedule(const SimContext& ctx) override {
    for (std::uint32_t k = 0; k < users_.size(); ++k) {
      User& u = users_[k];
      const double from = ctx.start + u.joins_after_days * 86400;
      if (from >= ctx.end) continue;
      auto times = profiled_arrivals(u.per_day / u.active_days, 1.6,
                                     DailyProfile::office(std::fmod(u.peak - u.tz + 48, 24.0), 0.04), from, ctx.end, rng_);
      // A person uses the app on some days, not every day.
      std::map<std::int64_t, bool> active;
      for (double t : times) {
        const auto day = static_cast<std::int64_t>(std::floor((t + u.tz * 3600) / 86400));
        auto [it, fresh] = active.try_emplace(day, false);
        if (fresh) it->second = rng_.chance(u.active_days);
        if (it->second) sched_.arrivals.push_back({t, k});
      }
    }
    return sched_.finish();
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const auto k = sched_.next();
    User& u = users_[k];
    SimRecord r;
    r.ts = ts;
    r.key = u.id.key;
    r.client_ip = u.id.pick_ip(rng_);
    r.user_agent = u.id.user_agent;
    const bool study = app_ == &kStudyApp;
    const auto& pool = ctx.data.gsm8k_train.empty() ? ctx.data.gsm8k_test : ctx.data.gsm8k_train;
    const std::string text = study && !pool.empty()
                                 ? rng_.pick(pool).question
                                 : truncate_utf8(rng_.pick(ctx.data.sharegpt), static_cast<std::size_t>(rng_.between(60, 3000)));
    std::string content = fill_slot(app_->frame, "text", text);
    content = fill_slot(content, "code", filler_code(rng_, static_cast<std::size_t>(rng_.between(200, 1800))));
    json::array messages;
    messages.push_back(message("system", fill_slot(app_->system, "app", app_->name)));
    if (!u.history.empty() && rng_.chance(0.4)) {
      messages.push_back(message("user", u.history));
      messages.push_back(message("assistant", filler_prose(ctx.data, rng_, static_cast<std::size_t>(rng_.between(200, 1500)))));
    }
    messages.push_back(message("user", content));
    u.history = truncate_utf8(content, 1500);
    r.request["model"] = u.model;
    r.request["messages"] = std::move(messages);
    r.request["max_tokens"] = 2048;
    r.request["temperature"] = 0.7;
    if (u.stream) r.request["stream"] = true;
    to_format(r, u.format, {});
    const double out = study ? rng_.lognormal(380, 0.45)
                             : std::max<double>(20, rng_.pick(ctx.data.azure_conv).output * app_->answer_scale);
    finish_response(r, static_cast<std::uint64_t>(out), rng_);
    return r;
  }

 private:
  struct User {
    ClientIdentity id;
    ApiFormat format = ApiFormat::Chat;
    std::string model;
    double per_day = 5, tz = 0, peak = 14, active_days = 0.7, joins_after_days = 0;
    bool stream = true;
    std::string history;
  };
  Rng rng_;
  ByokOptions o_;
  const ByokApp* app_ = nullptr;
  std::vector<std::string> models_;
  std::string claude_;
  std::vector<User> users_;
  MergedSchedule sched_;
};

}  // namespace

std::string_view customer_label(CustomerKind kind) noexcept {
  switch (kind) {
    case CustomerKind::ReasoningCustomer: return "benign/reasoning_customer";
    case CustomerKind::Tutoring: return "benign/tutoring";
    case CustomerKind::CotEval: return "benign/cot_eval";
    case CustomerKind::SupportBot: return "benign/support_bot";
    case CustomerKind::Summarization: return "benign/summarization";
    case CustomerKind::Translation: return "benign/translation";
    case CustomerKind::ApiRouter: return "benign/api_router";
    case CustomerKind::LogprobCalibration: return "benign/logprob_calibration";
  }
  return "benign/other";
}

PersonaPtr make_customer_persona(CustomerKind kind, const DataSet&, Rng rng, const CustomerOptions& options) {
  switch (kind) {
    case CustomerKind::ReasoningCustomer: return std::make_unique<ReasoningCustomer>(rng, options);
    case CustomerKind::Tutoring: return std::make_unique<Tutoring>(rng, options);
    case CustomerKind::CotEval: return std::make_unique<CotEval>(rng, options);
    case CustomerKind::SupportBot: return std::make_unique<SupportBot>(rng, options);
    case CustomerKind::Summarization:
    case CustomerKind::Translation: return std::make_unique<Pipeline>(rng, kind, options);
    case CustomerKind::ApiRouter: return std::make_unique<ApiRouter>(rng, options);
    case CustomerKind::LogprobCalibration: return std::make_unique<LogprobCalibration>(rng, options);
  }
  return nullptr;
}

PersonaPtr make_byok_app_persona(const DataSet&, Rng rng, const ByokOptions& options) {
  return std::make_unique<ByokAppPersona>(rng, options);
}

}  // namespace dg::sim
