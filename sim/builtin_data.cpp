// The simulator's own data set, for a clone of the repository without
// ../shared/data: client rate traces, token sizes and prompt texts generated
// here from word lists and templates written for this file. The shapes follow
// what the real sets show (diurnal, bursty per-client rates spanning three
// orders of magnitude; log-normal token sizes; chat first turns of very mixed
// length and intent; worked grade-school problems ending in "#### N";
// instructions with and without an input), so every scenario runs, but the
// texts are far less varied than real ones: results on real data are the ones
// to report.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "sim/data_set.hpp"
#include "sim/rng.hpp"

namespace dg::sim {
namespace {

template <std::size_t N>
const char* pick(Rng& rng, const char* const (&list)[N]) {
  return list[rng.index(N)];
}

constexpr const char* kTopics[] = {
    "the French revolution", "photosynthesis", "a sourdough starter", "Kubernetes pod scheduling",
    "my landlord's deposit rules", "the difference between TCP and UDP", "a birthday party for a six-year-old",
    "index funds", "the causes of inflation", "learning the guitar as an adult", "React state management",
    "training for a half marathon", "black holes", "writing a cover letter", "composting in an apartment",
    "SQL window functions", "the plot of Hamlet", "a trip to Lisbon", "caring for a senior dog",
    "negotiating a salary", "climate change and agriculture", "Rust lifetimes", "a vegetarian meal plan",
    "public speaking nerves", "the history of jazz", "setting up a home network", "quantum entanglement",
    "a small bakery's marketing", "Python decorators", "the Roman empire's decline", "sleep hygiene",
    "a wedding toast", "GDPR for a small shop", "bread that does not rise", "the stock market crash of 1929",
    "a resume gap", "Docker volumes", "learning Japanese kana", "a leaky kitchen faucet", "electric cars",
    "a fantasy novel's magic system", "time management for students", "CSS grid layouts", "vitamin D",
    "a board game night", "the water cycle", "migrating from MySQL to Postgres", "a job interview at a bank",
    "houseplants that like shade", "the ethics of self-driving cars", "a podcast intro", "git rebase",
};
constexpr const char* kOpeners[] = {
    "Can you explain", "I need help with", "Write a short piece about", "What do you know about",
    "Give me some ideas for", "hey, quick question about", "Please summarize", "I'm confused about",
    "Tell me the pros and cons of", "How would you approach", "Could you draft something on",
    "ok so I've been reading about", "Make a list of tips for", "Is it true what people say about",
    "What's a good way to think about", "Help me understand",
};
constexpr const char* kContext[] = {
    "I'm a beginner.", "This is for a class next week.", "My boss asked me about it.",
    "Keep it short please.", "I have about an hour.", "I tried searching but got confused.",
    "Use simple words.", "I already know the basics.", "It's for my blog.", "Thanks in advance!",
    "My friend and I disagree on this.", "Be honest.", "Bullet points are fine.", "In Spanish if possible.",
    "I'm on a tight budget.", "We have a deadline on Friday.",
};
constexpr const char* kWords[] = {
    "really", "the", "project", "because", "then", "we", "tried", "again", "but", "it", "kept", "failing",
    "when", "I", "changed", "settings", "and", "nothing", "worked", "so", "maybe", "you", "know", "why",
    "also", "my", "team", "thinks", "should", "rewrite", "everything", "from", "scratch", "which", "seems",
    "risky", "given", "time", "left", "before", "launch", "anyway", "here", "is", "what", "happened", "after",
    "update", "last", "week", "data", "looked", "wrong", "numbers", "did", "not", "add", "up",
};
constexpr const char* kNames[] = {"Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas",
                                  "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara"};
constexpr const char* kItems[] = {"apples", "pencils", "stickers", "marbles", "cupcakes", "books", "seashells",
                                  "tickets", "cookies", "plants", "postcards", "eggs", "bottles", "coins"};
constexpr const char* kVerbs[] = {
    "Write", "Summarize", "Classify", "Rewrite", "Translate", "Generate", "Explain", "List", "Describe",
    "Compare", "Suggest", "Edit", "Create", "Identify", "Convert", "Outline",
};
constexpr const char* kObjects[] = {
    "a haiku about autumn", "the following paragraph in one sentence", "the sentiment of this review",
    "this sentence in a formal tone", "the text below into French", "five names for a coffee shop",
    "how a bill becomes a law", "three uses of baking soda", "the main character of the story",
    "two programming languages for beginners", "a title for this article", "the grammar of this sentence",
    "a short quiz about the solar system", "the odd one out in this list", "this recipe for four people",
    "an outline for an essay on renewable energy",
};

std::string sentence_of_words(Rng& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i) s += ' ';
    s += pick(rng, kWords);
  }
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s + '.';
}

std::string chat_first_turn(Rng& rng) {
  std::string s;
  const int shape = static_cast<int>(rng.between(0, 9));
  if (shape == 0) return std::string(pick(rng, kTopics)) + "?";  // a bare query
  s = std::string(pick(rng, kOpeners)) + " " + pick(rng, kTopics) + (rng.chance(0.5) ? "?" : ".");
  const int extra = static_cast<int>(rng.between(0, 3));
  for (int i = 0; i < extra; ++i) s += std::string(" ") + pick(rng, kContext);
  if (shape >= 7) {  // a long story before the question
    const int sentences = static_cast<int>(rng.between(3, 25));
    std::string story;
    for (int i = 0; i < sentences; ++i) story += sentence_of_words(rng, static_cast<int>(rng.between(5, 18))) + " ";
    s = story + "\n\n" + s;
  }
  return s;
}

Gsm8kItem word_problem(Rng& rng) {
  const std::string a = pick(rng, kNames), b = pick(rng, kNames), item = pick(rng, kItems);
  const auto x = rng.between(2, 60), y = rng.between(2, 12), z = rng.between(1, 30);
  Gsm8kItem g;
  switch (rng.between(0, 3)) {
    case 0: {
      const auto total = x * y;
      g.question = a + " buys " + std::to_string(y) + " boxes of " + item + ". Each box holds " + std::to_string(x) +
                   " " + item + ". How many " + item + " does " + a + " have?";
      g.answer = a + " has " + std::to_string(y) + " * " + std::to_string(x) + " = <<" + std::to_string(y) + "*" +
                 std::to_string(x) + "=" + std::to_string(total) + ">>" + std::to_string(total) + " " + item +
                 ".\n#### " + std::to_string(total);
      g.final_answer = std::to_string(total);
      break;
    }
    case 1: {
      const auto left = x + z;
      g.question = a + " had some " + item + ". After giving " + std::to_string(z) + " to " + b + ", " + a +
                   " has " + std::to_string(x) + " left. How many " + item + " did " + a + " have at first?";
      g.answer = "Before giving any away, " + a + " had " + std::to_string(x) + " + " + std::to_string(z) + " = <<" +
                 std::to_string(x) + "+" + std::to_string(z) + "=" + std::to_string(left) + ">>" +
                 std::to_string(left) + ".\n#### " + std::to_string(left);
      g.final_answer = std::to_string(left);
      break;
    }
    case 2: {
      const auto price = y, spent = x * y + z;
      g.question = a + " sells " + item + " for $" + std::to_string(price) + " each and sold " + std::to_string(x) +
                   " of them, then found $" + std::to_string(z) + ". How much money does " + a + " have now?";
      g.answer = "Sales: " + std::to_string(x) + " * " + std::to_string(price) + " = <<" + std::to_string(x) + "*" +
                 std::to_string(price) + "=" + std::to_string(x * price) + ">>" + std::to_string(x * price) +
                 ".\nTotal: " + std::to_string(x * price) + " + " + std::to_string(z) + " = " +
                 std::to_string(spent) + ".\n#### " + std::to_string(spent);
      g.final_answer = std::to_string(spent);
      break;
    }
    default: {
      const auto each = x, people = y, total = x * y;
      g.question = std::to_string(total) + " " + item + " are shared equally among " + std::to_string(people) +
                   " friends of " + a + " and " + b + ". How many does each friend get?";
      g.answer = "Each gets " + std::to_string(total) + " / " + std::to_string(people) + " = <<" +
                 std::to_string(total) + "/" + std::to_string(people) + "=" + std::to_string(each) + ">>" +
                 std::to_string(each) + ".\n#### " + std::to_string(each);
      g.final_answer = std::to_string(each);
    }
  }
  return g;
}

Instruction instruction(Rng& rng) {
  Instruction ins;
  ins.instruction = std::string(pick(rng, kVerbs)) + " " + pick(rng, kObjects) + ".";
  if (rng.chance(0.4)) ins.input = sentence_of_words(rng, static_cast<int>(rng.between(6, 30)));
  return ins;
}

/// 14 days of 600 s windows: a daily mean spanning three orders of magnitude,
/// a diurnal swing, idle windows and bursty inter-arrivals.
ClientTrace client_trace(Rng& rng, int index) {
  ClientTrace ct;
  ct.name = "builtin/client-" + std::to_string(index);
  const double daily = rng.lognormal(400, 1.6);
  const double phase = rng.uniform(0, 24);
  const double idle = rng.uniform(0.05, 0.6);
  const double cv = rng.uniform(1, 6);
  const bool weibull = rng.chance(0.6);
  constexpr int kWindows = 14 * 144;
  double total = 0;
  ct.windows.reserve(kWindows);
  for (int w = 0; w < kWindows; ++w) {
    RateWindow rw;
    rw.start_s = w * 600.0;
    const double hour = std::fmod(w / 6.0 + phase, 24.0);
    const double diurnal = 1 + 0.8 * std::sin((hour - 6) / 24 * 6.283185307179586);
    if (!rng.chance(idle)) {
      rw.rate = daily / 86400 * diurnal / (1 - idle) * rng.lognormal(1, 0.5);
      rw.cv = cv * rng.uniform(0.7, 1.3);
      rw.weibull = weibull;
    }
    total += rw.rate * 600;
    ct.windows.push_back(rw);
  }
  ct.mean_daily_requests = total / 14;
  return ct;
}

std::vector<TokenPair> token_pairs(Rng& rng, std::size_t n, double in_median, double in_sigma, double out_median,
                                   double out_sigma, double in_cap, double out_cap) {
  std::vector<TokenPair> out(n);
  for (auto& p : out) {
    p.input = static_cast<std::uint32_t>(std::clamp(rng.lognormal(in_median, in_sigma), 1.0, in_cap));
    p.output = static_cast<std::uint32_t>(std::clamp(rng.lognormal(out_median, out_sigma), 1.0, out_cap));
  }
  return out;
}

}  // namespace

std::shared_ptr<const DataSet> DataSet::builtin() {
  static const std::shared_ptr<const DataSet> set = [] {
    auto ds = std::make_shared<DataSet>();
    Rng rng(0x6275696c74696eULL);  // fixed: the built-in set is the same on every run
    for (int i = 0; i < 240; ++i) {
      auto ct = client_trace(rng, i);
      if (ct.mean_daily_requests > 0) ds->clients.push_back(std::move(ct));
    }
    ds->azure_conv = token_pairs(rng, 6000, 900, 1.1, 180, 1.0, 16000, 4000);
    ds->azure_code = token_pairs(rng, 4000, 1800, 0.9, 20, 1.2, 8000, 2000);
    ds->mooncake = token_pairs(rng, 4000, 7000, 0.5, 380, 0.6, 64000, 4000);
    for (int i = 0; i < 4000; ++i) ds->sharegpt.push_back(chat_first_turn(rng));
    for (int i = 0; i < 3000; ++i) ds->gsm8k_train.push_back(word_problem(rng));
    for (int i = 0; i < 800; ++i) ds->gsm8k_test.push_back(word_problem(rng));
    for (int i = 0; i < 3000; ++i) ds->alpaca.push_back(instruction(rng));
    // Reasoning-model clients: one day of windows, outputs (reasoning
    // included) of a few hundred to a few thousand tokens, per client.
    Rng reason = rng.fork(7);  // its own stream: the sets above stay as they were
    for (int i = 0; i < 40; ++i) {
      ReasonClient rc;
      rc.trace = client_trace(reason, 1000 + i);
      rc.trace.windows.resize(144);
      double total = 0;
      for (const auto& w : rc.trace.windows) total += w.rate * 600;
      rc.trace.mean_daily_requests = total;
      if (total <= 0) continue;
      rc.tokens = token_pairs(reason, 300, reason.lognormal(150, 1.2), 1.0, reason.lognormal(600, 0.6), 0.8, 16000, 32000);
      ds->reason_clients.push_back(std::move(rc));
    }
    return ds;
  }();
  return set;
}

}  // namespace dg::sim
