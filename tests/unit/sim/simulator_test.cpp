#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>

#include "sim/data_set.hpp"
#include "sim/personas.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"
#include "tests/shared_data_dir.hpp"

namespace json = boost::json;
using namespace dg::sim;

namespace {

const DataSet& data() {
  static const auto ds = DataSet::load_or_builtin(dg::test::shared_data_dir());
  return *ds;
}

struct Generated {
  std::string traffic, labels;
  GenerateStats stats;
};

Generated run(const std::string& scenario, ScenarioOptions opts) {
  std::ostringstream t, l;
  Generated g;
  g.stats = generate_scenario(scenario, opts, data(), t, l);
  g.traffic = t.str();
  g.labels = l.str();
  return g;
}

ScenarioOptions small(std::uint64_t seed) {
  ScenarioOptions o;
  o.seed = seed;
  o.days = 1;
  o.benign = 12;
  o.lookalikes = 1;
  o.distillers = 8;
  o.volume_scale = 0.25;  // keeps the test fast; shapes do not depend on volume
  return o;
}

std::vector<json::object> lines(const std::string& traffic) {
  std::vector<json::object> out;
  std::istringstream in(traffic);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line).as_object());
  return out;
}

/// Records grouped by persona name (via the labels file).
std::map<std::string, std::vector<json::object>> by_persona(const Generated& g) {
  const auto labels = json::parse(g.labels).as_object();
  std::map<std::string, std::vector<json::object>> out;
  for (auto& rec : lines(g.traffic)) {
    const auto& label = labels.at(rec.at("key").as_string()).as_object();
    out[std::string(label.at("persona").as_string())].push_back(std::move(rec));
  }
  return out;
}

std::int64_t max_tokens_of(const json::object& req) {
  for (const char* n : {"max_tokens", "max_completion_tokens"})
    if (const auto* v = req.if_contains(n)) return v->as_int64();
  return -1;
}

std::string last_user_text(const json::object& req) {
  if (const auto* p = req.if_contains("prompt")) return std::string(p->as_string());
  const auto& msgs = req.at("messages").as_array();
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
    if (it->as_object().at("role") == "user") return std::string(it->as_object().at("content").as_string());
  return {};
}

}  // namespace

TEST_CASE("rng: same seed same stream, forks are independent", "[sim]") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next() == b.next());
  REQUIRE(Rng(42).next() != c.next());
  Rng g(7);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) sum += g.gamma(0.25, 4.0);
  CHECK(sum / 20000 == Approx(1.0).epsilon(0.1));  // mean of Gamma(k, theta) = k*theta
}

TEST_CASE("simulator: same seed gives byte-identical output, another seed differs", "[sim]") {
  const auto a = run("population", small(11));
  const auto b = run("population", small(11));
  const auto c = run("population", small(12));
  REQUIRE(a.stats.records > 1000);
  CHECK(a.traffic == b.traffic);
  CHECK(a.labels == b.labels);
  CHECK(a.traffic != c.traffic);
}

TEST_CASE("simulator: records follow traffic-format.md and the labels cover every key", "[sim]") {
  const auto g = run("population", small(3));
  const auto labels = json::parse(g.labels).as_object();
  REQUIRE(labels.size() == 12 + 4 + 8);
  double last = 0;
  std::set<std::string> seen;
  std::size_t errors = 0;
  for (const auto& r : lines(g.traffic)) {
    const double ts = r.at("ts").to_number<double>();
    REQUIRE(ts >= last);
    last = ts;
    const std::string key(r.at("key").as_string());
    REQUIRE(labels.contains(key));
    seen.insert(key);
    REQUIRE(r.at("request").is_object());
    REQUIRE(!r.at("client_ip").as_string().empty());
    REQUIRE(!r.at("user_agent").as_string().empty());
    const auto& resp = r.at("response").as_object();
    const auto status = resp.at("status").as_int64();
    const auto prompt = resp.at("prompt_tokens").as_int64();
    const auto completion = resp.at("completion_tokens").as_int64();
    REQUIRE(prompt >= 1);
    REQUIRE(resp.at("latency_ms").to_number<double>() > 0);
    const auto& req = r.at("request").as_object();
    if (status != 200) {
      ++errors;
      REQUIRE(completion == 0);
      continue;
    }
    const auto cap = max_tokens_of(req);
    const auto n = req.contains("n") ? req.at("n").as_int64() : 1;
    if (cap >= 0) REQUIRE(completion <= cap * n);
    REQUIRE(completion >= 1);
  }
  CHECK(last < 1763596800 + 86400);
  CHECK(seen.size() == labels.size());  // every key sends something
  CHECK(errors < g.stats.records / 20);
}

TEST_CASE("simulator: each persona has its shape", "[sim]") {
  auto opts = small(5);
  opts.lookalikes = 2;
  const auto g = run("population", opts);
  const auto groups = by_persona(g);
  for (const char* p : {"benign/chat", "lookalike/batch_classifier", "lookalike/eval_harness", "lookalike/rag",
                        "lookalike/coding_agent", "distiller/alpaca", "distiller/gsm8k_reasoning",
                        "distiller/logprob", "distiller/slow_low"})
    REQUIRE(groups.count(p));

  SECTION("logprob harvesters: maximum top_logprobs, 1-5 tokens, temperature 0") {
    std::set<std::string> bias_sets;
    for (const auto& r : groups.at("distiller/logprob")) {
      const auto& req = r.at("request").as_object();
      if (!req.contains("logprobs")) continue;  // cover traffic
      const bool chat = req.contains("messages");
      if (chat) CHECK(req.at("top_logprobs").as_int64() == 20);
      else CHECK(req.at("logprobs").as_int64() == 5);
      CHECK(max_tokens_of(req) <= 5);
      CHECK(req.at("temperature").to_number<double>() == 0);
      if (const auto* b = req.if_contains("logit_bias")) bias_sets.insert(json::serialize(*b));
    }
    CHECK(bias_sets.size() > 10);  // rotating sets
  }
  SECTION("alpaca distillers: long outputs and high max tokens") {
    std::size_t long_max = 0, total = 0;
    for (const auto& r : groups.at("distiller/alpaca")) {
      ++total;
      if (max_tokens_of(r.at("request").as_object()) >= 2048) ++long_max;
    }
    CHECK(long_max > total / 2);
  }
  SECTION("gsm8k distillers ask for reasoning") {
    std::size_t asks = 0, total = 0;
    for (const auto& r : groups.at("distiller/gsm8k_reasoning")) {
      ++total;
      const auto text = last_user_text(r.at("request").as_object());
      for (const char* m : {"step", "Schritt", "paso", "étape", "一步", "逐步", "ステップ", "passo", "reasoning"})
        if (text.find(m) != std::string::npos) {
          ++asks;
          break;
        }
    }
    CHECK(asks > total * 6 / 10);
  }
  SECTION("slow-and-low keys stay at a few dozen requests a day") {
    std::map<std::string, int> per_key;
    for (const auto& r : groups.at("distiller/slow_low")) ++per_key[std::string(r.at("key").as_string())];
    for (const auto& [k, n] : per_key) CHECK(n <= 2 * 70);
  }
  SECTION("batch classifier: one template, short outputs, temperature 0") {
    for (const auto& r : groups.at("lookalike/batch_classifier")) {
      const auto& req = r.at("request").as_object();
      CHECK(max_tokens_of(req) <= 10);
      CHECK(req.at("temperature").to_number<double>() == 0);
    }
  }
  SECTION("eval harness: GSM8K test questions at temperature 0 with logprobs, none repeated within a run") {
    std::map<std::string, std::map<std::string, int>> per_key;
    for (const auto& r : groups.at("lookalike/eval_harness")) {
      const auto& req = r.at("request").as_object();
      CHECK(req.at("temperature").to_number<double>() == 0);
      CHECK(req.at("logprobs").as_bool());
      ++per_key[std::string(r.at("key").as_string())][last_user_text(req)];
    }
    for (const auto& [k, qs] : per_key)
      for (const auto& [q, n] : qs) CHECK(n <= 3);  // at most one per run, at most 3 runs
  }
  SECTION("RAG: long inputs, short outputs") {
    for (const auto& r : groups.at("lookalike/rag")) {
      const auto& resp = r.at("response").as_object();
      if (resp.at("status").as_int64() != 200) continue;
      CHECK(resp.at("prompt_tokens").as_int64() > 500);
      CHECK(resp.at("completion_tokens").as_int64() <= 512);
    }
  }
  SECTION("coding agent: tools declared and tool turns in the conversation") {
    std::size_t with_tool_turns = 0, total = 0;
    for (const auto& r : groups.at("lookalike/coding_agent")) {
      const auto& req = r.at("request").as_object();
      ++total;
      CHECK(req.contains("tools"));
      for (const auto& m : req.at("messages").as_array())
        if (m.as_object().at("role") == "tool") {
          ++with_tool_turns;
          break;
        }
    }
    CHECK(with_tool_turns > total / 2);
  }
  SECTION("distillers are not identical: parameters differ across keys") {
    std::set<std::string> shapes;
    std::set<std::string> keys;
    for (const char* p : {"distiller/alpaca", "distiller/gsm8k_reasoning"})
      for (const auto& r : groups.at(p)) {
        const auto& req = r.at("request").as_object();
        keys.insert(std::string(r.at("key").as_string()));
        shapes.insert(std::to_string(max_tokens_of(req)) + "/" +
                      (req.contains("temperature") ? json::serialize(req.at("temperature")) : "-") + "/" +
                      std::string(r.at("user_agent").as_string()));
      }
    CHECK(shapes.size() >= keys.size());
  }
}

TEST_CASE("simulator: the demo scenario is a few minutes of mixed traffic", "[sim]") {
  const auto* demo = find_scenario("demo");
  REQUIRE(demo);
  ScenarioOptions o;
  demo->defaults(o);
  const auto g = run("demo", o);
  const auto recs = lines(g.traffic);
  REQUIRE(recs.size() > 500);
  CHECK(recs.back().at("ts").to_number<double>() - recs.front().at("ts").to_number<double>() <= 300);
  CHECK(g.stats.records_by_class.count("distiller"));
  CHECK(g.stats.records_by_class.count("benign"));
  CHECK(g.stats.records_by_class.count("lookalike"));
}

TEST_CASE("simulator: distiller overrides set key, label and volume for campaign scenarios", "[sim]") {
  const SimContext ctx{data(), 1763596800, 1763596800 + 86400};
  ClientIdentity id;
  id.key = "sk-sim-campaign-member-1";
  id.ips = {"198.51.100.7"};
  id.user_agent = "OpenAI/Python 1.40.0";
  DistillerOverrides ov;
  ov.per_day = 26;
  ov.identity = id;
  ov.label = KeyLabel{KeyClass::Campaign, "campaign/test", "c-1", ""};
  ov.cover_traffic = false;
  auto p = make_distiller_persona(DistillerKind::Gsm8kReasoning, data(), Rng(9), 1, ov);
  const auto labels = p->labels();
  REQUIRE(labels.size() == 1);
  CHECK(labels[0].first == id.key);
  CHECK(labels[0].second.campaign == "c-1");
  const auto times = p->schedule(ctx);
  CHECK(times.size() >= 5);
  CHECK(times.size() <= 80);
  for (double t : times) {
    const auto r = p->render(t, ctx);
    CHECK(r.key == id.key);
    CHECK(r.client_ip == "198.51.100.7");
  }
}
