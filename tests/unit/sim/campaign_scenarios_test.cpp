#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <map>
#include <set>
#include <sstream>

#include "sim/campaign_scenarios.hpp"

namespace json = boost::json;
using namespace dg::sim;

namespace {

/// A tiny in-memory data set (no files): enough items to fill the slots.
DataSet tiny_data() {
  DataSet d;
  for (int i = 0; i < 20; ++i) {
    d.gsm8k_train.push_back({"Tom has " + std::to_string(i + 3) + " apples and buys " + std::to_string(i * 2 + 1) +
                                 " more. How many apples does he have now?",
                             "He has " + std::to_string(3 * i + 4) + " apples. #### " + std::to_string(3 * i + 4),
                             std::to_string(3 * i + 4)});
    d.alpaca.push_back({"Rewrite the sentence in the passive voice, variant " + std::to_string(i) + ".",
                        "The committee approved the plan number " + std::to_string(i) + "."});
    d.sharegpt.push_back("How do I set up a small vegetable garden on a balcony, attempt " + std::to_string(i) + "?");
  }
  return d;
}

struct Generated {
  std::vector<json::object> records;
  json::object labels;
};

Generated run(const ScenarioOptions& opts, Population& pop, const DataSet& data) {
  std::ostringstream traffic, labels;
  generate(opts, data, pop, traffic, labels);
  Generated g;
  std::istringstream in(traffic.str());
  std::string line;
  while (std::getline(in, line)) g.records.push_back(json::parse(line).as_object());
  g.labels = json::parse(labels.str()).as_object();
  return g;
}

std::string slash24(const std::string& ip) { return ip.substr(0, ip.rfind('.')); }

}  // namespace

TEST_CASE("sim hydra: >= 200 keys at <= 30 requests per key per day over a few /24s, templated prompts", "[campaign][sim]") {
  auto data = tiny_data();
  ScenarioOptions opts;
  opts.seed = 3;
  opts.days = 2;
  Population pop(opts.seed);
  HydraOptions h;
  h.keys = 220;
  h.templates = 2;
  h.networks = 3;
  pop.add(make_hydra_persona(data, pop.next_stream(), h, opts.start + 3600));
  auto g = run(opts, pop, data);
  REQUIRE(g.labels.size() == 220);
  for (const auto& [key, label] : g.labels) {
    CHECK(label.as_object().at("class").as_string() == "campaign");
    CHECK(label.as_object().at("campaign").as_string() == "hydra-1");
  }
  std::map<std::string, int> per_key;
  std::set<std::string> nets, agents, first_lines;
  for (const auto& r : g.records) {
    CHECK(r.at("ts").as_double() >= opts.start + 3600);
    ++per_key[std::string(r.at("key").as_string())];
    nets.insert(slash24(std::string(r.at("client_ip").as_string())));
    agents.insert(std::string(r.at("user_agent").as_string()));
    const auto& msgs = r.at("request").as_object().at("messages").as_array();
    std::string user(msgs.back().as_object().at("content").as_string());
    CHECK(user.find('{') == std::string::npos);  // every slot filled
    first_lines.insert(user.substr(0, 12));
  }
  CHECK(per_key.size() == 220);
  for (const auto& [key, n] : per_key) CHECK(n <= 2 * 30 + 10);  // <= 30/day on average (+ Poisson noise)
  CHECK(g.records.size() >= 220 * 2 * 15);
  CHECK(nets.size() == 3);
  CHECK(agents.size() == 1);
  CHECK(first_lines.size() <= 2 * 20);  // frames of at most 2 templates (+ their filled first line)
}

TEST_CASE("sim key rotation: keys follow each other with the same /24 and parameters", "[campaign][sim]") {
  auto data = tiny_data();
  ScenarioOptions opts;
  opts.seed = 4;
  opts.days = 3;
  Population pop(opts.seed);
  RotationOptions o;
  o.keys = 4;
  o.lifetime_h = 8;
  pop.add(make_rotation_persona(data, pop.next_stream(), o, opts.start));
  auto g = run(opts, pop, data);
  REQUIRE(g.labels.size() == 4);
  std::map<std::string, std::pair<double, double>> span;
  std::set<std::string> nets;
  std::set<std::string> params;
  for (const auto& r : g.records) {
    std::string key(r.at("key").as_string());
    double ts = r.at("ts").as_double();
    auto [it, fresh] = span.try_emplace(key, ts, ts);
    if (!fresh) it->second.second = ts;
    nets.insert(slash24(std::string(r.at("client_ip").as_string())));
    auto body = r.at("request").as_object();
    body.erase("messages");
    params.insert(json::serialize(body));
  }
  REQUIRE(span.size() == 4);
  std::vector<std::pair<double, double>> spans;
  for (const auto& [k, s] : span) spans.push_back(s);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) {
    CHECK(spans[i].first > spans[i - 1].second);          // the new key appears after the old one stopped
    CHECK(spans[i].first - spans[i - 1].second <= 3700);  // ... soon after
  }
  CHECK(nets.size() == 1);
  CHECK(params.size() == 1);
}

TEST_CASE("sim mixed extraction: 5-25% of a customer's key is extraction", "[campaign][sim]") {
  auto data = tiny_data();
  for (double share : {0.05, 0.25}) {
    ScenarioOptions opts;
    opts.seed = 5;
    opts.days = 7;
    Population pop(opts.seed);
    pop.add(make_mixed_extraction_persona(data, pop.next_stream(), share, 1.0));
    auto g = run(opts, pop, data);
    REQUIRE(g.labels.size() == 1);
    std::size_t extraction = 0;
    for (const auto& r : g.records) {
      const auto& msgs = r.at("request").as_object().at("messages").as_array();
      std::string user(msgs.back().as_object().at("content").as_string());
      if (user.find("vegetable garden") == std::string::npos) ++extraction;
    }
    REQUIRE(g.records.size() > 300);
    double observed = static_cast<double>(extraction) / static_cast<double>(g.records.size());
    CHECK(observed == Approx(share).margin(0.04));
  }
}

TEST_CASE("sim campaign scenarios are listed with their options", "[campaign][sim]") {
  auto entries = campaign_scenario_entries();
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.name);
  CHECK(names == std::set<std::string>{"hydra", "mixed-extraction", "key-rotation", "campaigns"});
  auto data = tiny_data();
  ScenarioOptions opts;
  opts.duration_s = 6 * 3600;
  opts.benign = 0;
  opts.lookalikes = 0;
  opts.distillers = 0;
  opts.extra["hydra_keys"] = "30";
  opts.extra["mixed"] = "2";
  opts.extra["rotation_keys"] = "3";
  Population pop(opts.seed);
  build_campaigns_scenario(opts, data, pop);
  auto g = run(opts, pop, data);
  CHECK(g.labels.size() == 30 + 2 + 3);
  opts.extra["hydra_keys"] = "many";
  Population bad(opts.seed);
  CHECK_THROWS_WITH(build_hydra_scenario(opts, data, bad), Catch::Contains("hydra_keys=many"));
}
