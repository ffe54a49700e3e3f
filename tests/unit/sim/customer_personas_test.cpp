// The benign customer personas, the BYOK app, the new campaign shapes and
// the request formats of issue 10: real properties of the traffic, not bytes.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "sim/api_format.hpp"
#include "sim/campaign_scenarios.hpp"
#include "sim/data_set.hpp"
#include "sim/personas.hpp"
#include "sim/scenario.hpp"
#include "sim/text.hpp"
#include "tests/shared_data_dir.hpp"

namespace json = boost::json;
using namespace dg::sim;

namespace {

const DataSet& data() {
  static const auto ds = DataSet::load_or_builtin(dg::test::shared_data_dir());
  return *ds;
}

struct Generated {
  std::vector<json::object> records;
  json::object labels;
};

Generated run(const ScenarioOptions& opts, Population& pop) {
  std::ostringstream traffic, labels;
  generate(opts, data(), pop, traffic, labels);
  Generated g;
  std::istringstream in(traffic.str());
  std::string line;
  while (std::getline(in, line)) g.records.push_back(json::parse(line).as_object());
  g.labels = json::parse(labels.str()).as_object();
  return g;
}

ScenarioOptions days(double d, std::uint64_t seed = 5) {
  ScenarioOptions o;
  o.seed = seed;
  o.days = d;
  return o;
}

std::string slash24(const std::string& ip) { return ip.substr(0, ip.rfind('.')); }
std::string key_of(const json::object& r) { return std::string(r.at("key").as_string()); }
const json::object& req(const json::object& r) { return r.at("request").as_object(); }
std::string path_of(const json::object& r) { return std::string(r.at("path").as_string()); }
std::int64_t completion(const json::object& r) { return r.at("response").as_object().at("completion_tokens").as_int64(); }
std::int64_t prompt(const json::object& r) { return r.at("response").as_object().at("prompt_tokens").as_int64(); }

/// The format's own fields are present, the other formats' absent.
void check_format_fields(const json::object& r) {
  const auto& b = req(r);
  const std::string path = path_of(r);
  INFO(path << " " << json::serialize(b).substr(0, 400));
  REQUIRE(b.contains("model"));
  if (path == "/v1/chat/completions") {
    REQUIRE(b.at("messages").is_array());
    CHECK(!b.contains("input"));
    CHECK(!b.contains("thinking"));
    if (b.contains("top_logprobs")) CHECK(b.at("logprobs").as_bool());
  } else if (path == "/v1/responses") {
    REQUIRE(b.contains("input"));
    CHECK((b.at("input").is_string() || b.at("input").is_array()));
    CHECK(!b.contains("messages"));
    CHECK(!b.contains("max_tokens"));
    CHECK(!b.contains("n"));
    if (b.contains("reasoning")) CHECK(!b.at("reasoning").as_object().at("effort").as_string().empty());
    if (b.contains("top_logprobs")) CHECK(b.at("include").is_array());
  } else if (path == "/v1/completions") {
    REQUIRE(b.at("prompt").is_string());
    CHECK(!b.contains("messages"));
    if (b.contains("logprobs")) {
      CHECK(b.at("logprobs").is_int64());
      CHECK(b.at("logprobs").as_int64() <= 5);
    }
  } else if (path == "/v1/messages") {
    REQUIRE(b.at("messages").is_array());
    REQUIRE(b.at("max_tokens").is_int64());
    for (const auto& m : b.at("messages").as_array()) CHECK(m.as_object().at("role") != "system");
    CHECK(!b.contains("logprobs"));
    CHECK(!b.contains("top_logprobs"));
    if (const auto* t = b.if_contains("thinking")) {
      CHECK(t->as_object().at("type") == "enabled");
      CHECK(t->as_object().at("budget_tokens").as_int64() < b.at("max_tokens").as_int64());
      CHECK(!b.contains("temperature"));
    }
  } else {
    FAIL("unexpected path " << path);
  }
}

FormatOptions effort(std::string model, std::string level) {
  FormatOptions o;
  o.model = std::move(model);
  o.reasoning_effort = std::move(level);
  return o;
}

CustomerOptions on(ApiFormat f) {
  CustomerOptions o;
  o.format = f;
  return o;
}

void generate_eval(const ScenarioOptions& o) {
  std::ostringstream a, b;
  generate_scenario("eval", o, data(), a, b);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST_CASE("sim formats: a chat body becomes each format with that format's fields", "[sim][formats]") {
  SimRecord r;
  r.request["model"] = "gpt-4o";
  json::array msgs;
  msgs.push_back(message("system", "Be brief."));
  msgs.push_back(message("user", "What is 2+2?"));
  r.request["messages"] = std::move(msgs);
  r.request["max_tokens"] = 2048;
  r.request["temperature"] = 0.0;
  r.request["logprobs"] = true;
  r.request["top_logprobs"] = 20;

  SimRecord chat = r;
  to_format(chat, ApiFormat::Chat, effort("o3", "high"));
  CHECK(chat.path == "/v1/chat/completions");
  CHECK(chat.request.at("reasoning_effort") == "high");
  CHECK(chat.request.at("max_completion_tokens").as_int64() == 2048);

  SimRecord resp = r;
  to_format(resp, ApiFormat::Responses, effort("", "medium"));
  CHECK(resp.path == "/v1/responses");
  CHECK(resp.request.at("instructions") == "Be brief.");
  CHECK(resp.request.at("input") == "What is 2+2?");
  CHECK(resp.request.at("max_output_tokens").as_int64() == 2048);
  CHECK(resp.request.at("reasoning").as_object().at("effort") == "medium");
  CHECK(resp.request.at("top_logprobs").as_int64() == 20);
  CHECK(estimate_prompt_tokens(resp.request) > 4);

  SimRecord comp = r;
  FormatOptions echo;
  echo.echo = true;
  to_format(comp, ApiFormat::Completions, echo);
  CHECK(comp.path == "/v1/completions");
  CHECK(std::string(comp.request.at("prompt").as_string()) == "Be brief.\n\nWhat is 2+2?");
  CHECK(comp.request.at("logprobs").as_int64() == 5);  // the legacy maximum
  CHECK(comp.request.at("echo").as_bool());

  SimRecord msg = r;
  FormatOptions thinking;
  thinking.thinking_budget = 16000;
  to_format(msg, ApiFormat::Messages, thinking);
  CHECK(msg.path == "/v1/messages");
  CHECK(msg.request.at("system") == "Be brief.");
  CHECK(msg.request.at("messages").as_array().size() == 1);
  CHECK(msg.request.at("thinking").as_object().at("budget_tokens").as_int64() == 16000);
  CHECK(msg.request.at("max_tokens").as_int64() > 16000);
  CHECK(!msg.request.contains("logprobs"));
  for (const auto& rec : {chat, resp, comp, msg}) {
    json::object line;
    line["path"] = rec.path;
    line["request"] = rec.request;
    check_format_fields(line);
  }
  CHECK(parse_format_weights("chat:2,messages:1") == std::vector<double>{2, 0, 0, 1});
  CHECK(parse_format_weights("responses+completions") == std::vector<double>{0, 1, 1, 0});
  CHECK_THROWS_AS(parse_format_weights("grpc"), std::invalid_argument);
}

TEST_CASE("sim reasoning customers: long answers by nature, every reasoning format, ordinary prompts", "[sim][customers]") {
  auto opts = days(3);
  Population pop(opts.seed);
  for (int i = 0; i < 24; ++i) pop.add(make_customer_persona(CustomerKind::ReasoningCustomer, data(), pop.next_stream()));
  const auto g = run(opts, pop);
  REQUIRE(g.records.size() > 200);
  std::map<std::string, std::vector<double>> ratio;  // completion / prompt per key
  std::set<std::string> paths;
  std::size_t streaming = 0, reasoning = 0;
  for (const auto& r : g.records) {
    check_format_fields(r);
    paths.insert(path_of(r));
    const auto& b = req(r);
    if (b.contains("stream")) ++streaming;
    if (b.contains("reasoning_effort") || b.contains("reasoning") || b.contains("thinking")) ++reasoning;
    if (completion(r) > 0) ratio[key_of(r)].push_back(static_cast<double>(completion(r)) / static_cast<double>(prompt(r)));
    CHECK(g.labels.at(key_of(r)).as_object().at("persona") == "benign/reasoning_customer");
  }
  CHECK(paths.count("/v1/chat/completions") + paths.count("/v1/responses") + paths.count("/v1/messages") == 3);
  CHECK(paths.count("/v1/completions") == 0);
  CHECK(reasoning == g.records.size());  // every request asks for reasoning
  CHECK(streaming > g.records.size() / 4);
  std::vector<double> medians;
  for (auto& [k, v] : ratio) medians.push_back(median(v));
  CHECK(median(medians) > 3.0);  // completion >> prompt
}

TEST_CASE("sim tutoring: one key, step-by-step tutor prompt, questions without answers, follow-ups, school days", "[sim][customers]") {
  auto opts = days(7);
  Population pop(opts.seed);
  pop.add(make_customer_persona(CustomerKind::Tutoring, data(), pop.next_stream(), on(ApiFormat::Chat)));
  const auto g = run(opts, pop);
  REQUIRE(g.labels.size() == 1);
  REQUIRE(g.records.size() > 500);
  std::size_t follow_ups = 0, first_turns = 0, weekend = 0;
  std::set<std::string> questions;
  for (const auto& r : g.records) {
    check_format_fields(r);
    const auto& msgs = req(r).at("messages").as_array();
    const std::string system(msgs.front().as_object().at("content").as_string());
    CHECK(msgs.front().as_object().at("role") == "system");
    CHECK((system.find("step") != std::string::npos || system.find("paso") != std::string::npos));
    const std::string first_user(msgs[1].as_object().at("content").as_string());
    CHECK(first_user.find("####") == std::string::npos);  // the answer is never given with the question
    if (msgs.size() == 2) {
      ++first_turns;
      questions.insert(first_user);
    } else {
      ++follow_ups;
      CHECK(msgs[2].as_object().at("role") == "assistant");
    }
    const double ts = r.at("ts").as_double();
    // 2025-11-22/23 are Saturday and Sunday (UTC; the platform's zone shifts it by hours).
    if (ts >= 1763596800 + 2 * 86400 + 12 * 3600 && ts < 1763596800 + 3 * 86400 + 12 * 3600) ++weekend;
  }
  CHECK(follow_ups > g.records.size() / 10);
  CHECK(questions.size() > first_turns * 8 / 10);  // many distinct questions
  CHECK(weekend < g.records.size() / 7);           // a weekend day is quieter than the average day
}

TEST_CASE("sim CoT eval: temperature 0, step by step, a few bounded runs then quiet", "[sim][customers]") {
  auto opts = days(7, 8);
  Population pop(opts.seed);
  pop.add(make_customer_persona(CustomerKind::CotEval, data(), pop.next_stream()));
  const auto g = run(opts, pop);
  REQUIRE(g.records.size() >= 2000);
  std::vector<std::size_t> run_sizes{0};
  double last = g.records.front().at("ts").as_double();
  for (const auto& r : g.records) {
    check_format_fields(r);
    const auto& b = req(r);
    if (b.contains("temperature")) CHECK(b.at("temperature").to_number<double>() == 0);
    std::string text = path_of(r) == "/v1/responses" ? std::string(b.at("input").as_string())
                                                     : std::string(b.at("messages").as_array().back().as_object().at("content").as_string());
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    CHECK(text.find("step by step") != std::string::npos);
    const double ts = r.at("ts").as_double();
    if (ts - last > 1800) run_sizes.push_back(0);
    ++run_sizes.back();
    last = ts;
  }
  CHECK(run_sizes.size() >= 2);
  CHECK(run_sizes.size() <= 4);
  for (auto n : run_sizes) {
    CHECK(n >= 900);
    CHECK(n <= 3000);
  }
}

TEST_CASE("sim BYOK app: every user its own key and /24, one app frame, modest human volumes", "[sim][customers]") {
  auto opts = days(7);
  Population pop(opts.seed);
  ByokOptions b;
  b.users = 180;
  pop.add(make_byok_app_persona(data(), pop.next_stream(), b));
  const auto g = run(opts, pop);
  REQUIRE(g.labels.size() == 180);
  for (const auto& [key, l] : g.labels) {
    CHECK(l.as_object().at("persona") == "benign/byok_app");
    CHECK(l.as_object().at("group") == "byok-1");
  }
  std::map<std::string, std::set<std::string>> nets_of_key;
  std::set<std::string> systems, agents;
  std::map<std::string, std::size_t> per_key;
  for (const auto& r : g.records) {
    check_format_fields(r);
    const std::string ip(r.at("client_ip").as_string());
    if (ip.find(':') == std::string::npos) nets_of_key[key_of(r)].insert(slash24(ip));
    agents.insert(std::string(r.at("user_agent").as_string()));
    const auto& body = req(r);
    systems.insert(path_of(r) == "/v1/messages" ? std::string(body.at("system").as_string())
                                                : std::string(body.at("messages").as_array()[0].as_object().at("content").as_string()));
    ++per_key[key_of(r)];
  }
  std::map<std::string, std::string> owner;
  for (const auto& [key, nets] : nets_of_key)
    for (const auto& n : nets) {
      auto [it, fresh] = owner.emplace(n, key);
      CHECK((fresh || it->second == key));  // no /24 is shared by two users
    }
  CHECK(systems.size() == 1);  // the app's one system prompt
  CHECK(agents.size() > 20);
  CHECK(per_key.size() > 150);
  for (const auto& [key, n] : per_key) CHECK(n < 7 * 200);
  std::vector<double> counts;
  for (const auto& [key, n] : per_key) counts.push_back(static_cast<double>(n));
  CHECK(median(counts) < 7 * 15);
}

TEST_CASE("sim campaign one network per key: no shared /24, 5-8 a day, paraphrased frames, staggered, SDK agents", "[sim][campaign]") {
  auto opts = days(7);
  Population pop(opts.seed);
  HydraOptions h;
  h.keys = 150;
  h.network_mode = NetworkMode::OnePerKey;
  h.per_day_min = 5;
  h.per_day_max = 8;
  h.frames = 6;
  h.content = "gsm8k_answer";
  h.launch_spread_s = 72 * 3600;
  h.per_key_agents = true;
  h.format_weights = {1, 1, 0, 1};
  h.persona = "campaign/one_net_per_key";
  h.campaign = "c1";
  pop.add(make_hydra_persona(data(), pop.next_stream(), h, opts.start + 3600));
  const auto g = run(opts, pop);
  REQUIRE(g.labels.size() == 150);
  std::map<std::string, std::set<std::string>> nets;
  std::map<std::string, std::size_t> per_key;
  std::set<std::string> agents, instructions, paths;
  for (const auto& r : g.records) {
    check_format_fields(r);
    const std::string ip(r.at("client_ip").as_string());
    if (ip.find(':') == std::string::npos) nets[slash24(ip)].insert(key_of(r));
    ++per_key[key_of(r)];
    agents.insert(std::string(r.at("user_agent").as_string()));
    paths.insert(path_of(r));
    const auto& b = req(r);
    const std::string text = path_of(r) == "/v1/responses" ? std::string(b.at("input").as_string())
                                                           : std::string(b.at("messages").as_array().back().as_object().at("content").as_string());
    CHECK(text.find('{') == std::string::npos);  // every slot filled
    instructions.insert(text.substr(text.rfind('\n') + 1));
  }
  for (const auto& [net, keys] : nets) CHECK(keys.size() == 1);
  CHECK(instructions.size() >= 4);  // several rewordings of the wrapper
  CHECK(agents.size() > 30);
  CHECK(paths.size() == 3);
  std::vector<double> starts;
  for (const auto& [key, l] : g.labels) {
    CHECK(l.as_object().at("campaign") == "c1");
    if (l.as_object().contains("first_ts")) starts.push_back(l.as_object().at("first_ts").as_double());
  }
  std::sort(starts.begin(), starts.end());
  CHECK(starts.back() - starts.front() > 36 * 3600);  // starts staggered over days
  double rate_sum = 0;
  for (const auto& [key, n] : per_key) {
    const double first = g.labels.at(key).as_object().at("first_ts").as_double();
    const double active_days = (opts.end() - first) / 86400;
    if (active_days < 2) continue;
    const double rate = static_cast<double>(n) / active_days;
    CHECK(rate < 8 * 2.2);
    rate_sum += rate;
  }
  const double mean_rate = rate_sum / static_cast<double>(per_key.size());
  CHECK(mean_rate > 4);
  CHECK(mean_rate < 9);
}

TEST_CASE("sim eval scenario: every format's body is well formed and labels cover every key", "[sim][eval]") {
  ScenarioOptions o;
  o.seed = 17;
  o.days = 1;
  o.benign = 10;
  o.lookalikes = 1;
  o.distillers = 16;
  o.volume_scale = 0.2;
  o.extra = {{"distiller_formats", "chat:1,responses:1,completions:1,messages:1"},
             {"reasoning", "4"},
             {"tutoring", "1"},
             {"cot_eval", "1"},
             {"support", "1"},
             {"summarization", "1"},
             {"translation", "1"},
             {"router", "1"},
             {"calibration", "1"},
             {"byok_apps", "1"},
             {"byok_users", "40"},
             {"campaign1", "net:per_key,keys:40,per_day:20-30,frames:3,stagger_h:6,formats:chat+completions"},
             {"campaign2", "net:residential,keys:20,per_day:20-30,formats:messages"},
             {"mixed", "2"},
             {"mixed_formats", "responses"},
             {"rotation", "1"},
             {"rotation_formats", "messages"}};
  std::ostringstream t, l;
  generate_scenario("eval", o, data(), t, l);
  const auto labels = json::parse(l.str()).as_object();
  std::set<std::string> personas, paths, seen;
  std::istringstream in(t.str());
  std::string line;
  while (std::getline(in, line)) {
    const auto r = json::parse(line).as_object();
    check_format_fields(r);
    paths.insert(path_of(r));
    REQUIRE(labels.contains(key_of(r)));
    seen.insert(key_of(r));
  }
  for (const auto& [key, lab] : labels) {
    personas.insert(std::string(lab.as_object().at("persona").as_string()));
    if (lab.as_object().at("requests").as_int64() > 0) CHECK(seen.count(key) == 1);
  }
  CHECK(paths.size() == 4);
  for (const char* p : {"benign/reasoning_customer", "benign/tutoring", "benign/cot_eval", "benign/support_bot",
                        "benign/summarization", "benign/translation", "benign/api_router",
                        "benign/logprob_calibration", "benign/byok_app", "campaign/one_net_per_key",
                        "campaign/residential", "mixed/in_customer_key@responses", "campaign/rotation",
                        "distiller/alpaca@chat", "distiller/gsm8k_reasoning@responses"})
    CHECK(personas.count(p) == 1);
  ScenarioOptions bad = o;
  bad.extra = {{"campaign1", "net:moon"}};
  CHECK_THROWS_AS(generate_eval(bad), std::invalid_argument);
}

TEST_CASE("sim BYOK study app: homework questions without answers under one frame, own keys and networks", "[sim][customers]") {
  auto opts = days(3);
  Population pop(opts.seed);
  ByokOptions b;
  b.users = 60;
  b.kind = "study";
  b.format = ApiFormat::Messages;
  pop.add(make_byok_app_persona(data(), pop.next_stream(), b));
  const auto g = run(opts, pop);
  REQUIRE(g.labels.size() == 60);
  for (const auto& [key, l] : g.labels) CHECK(l.as_object().at("persona") == "benign/byok_study_app");
  std::map<std::string, std::set<std::string>> keys_of_net;
  REQUIRE(!g.records.empty());
  for (const auto& r : g.records) {
    check_format_fields(r);
    CHECK(path_of(r) == "/v1/messages");
    const std::string user(req(r).at("messages").as_array().back().as_object().at("content").as_string());
    CHECK(user.rfind("Homework question:", 0) == 0);
    CHECK(user.find("####") == std::string::npos);
    const std::string ip(r.at("client_ip").as_string());
    if (ip.find(':') == std::string::npos) keys_of_net[slash24(ip)].insert(key_of(r));
  }
  for (const auto& [net, keys] : keys_of_net) CHECK(keys.size() == 1);
}

TEST_CASE("sim mixed extraction on a format: the share of extraction stays near the asked share", "[sim][campaign]") {
  auto opts = days(4);
  Population pop(opts.seed);
  for (double share : {0.10, 0.25}) {
    MixedOptions m;
    m.share = share;
    m.format = ApiFormat::Responses;
    m.frames = 4;
    m.persona = "mixed/in_customer_key@responses";
    pop.add(make_mixed_extraction_persona(data(), pop.next_stream(), m));
  }
  const auto g = run(opts, pop);
  std::map<std::string, std::pair<double, double>> extraction;  // key -> (extraction, all)
  for (const auto& r : g.records) {
    check_format_fields(r);
    CHECK(path_of(r) == "/v1/responses");
    const auto& b = req(r);
    auto& [x, n] = extraction[key_of(r)];
    n += 1;
    if (!b.contains("instructions")) x += 1;  // the customer's own requests carry its system prompt
  }
  REQUIRE(extraction.size() == 2);
  std::vector<double> shares;
  for (const auto& [key, xn] : extraction) {
    CHECK(xn.second > 300);
    shares.push_back(xn.first / xn.second);
  }
  std::sort(shares.begin(), shares.end());
  CHECK(shares[0] == Approx(0.10).margin(0.04));
  CHECK(shares[1] == Approx(0.25).margin(0.05));
}

TEST_CASE("sim data: reasoning-model clients (ServeGen deepseek-r1 or built-in) with one day of rates and token sizes", "[sim][data]") {
  for (const auto* ds : {&data(), DataSet::builtin().get()}) {
    REQUIRE(ds->reason_clients.size() >= 20);
    std::vector<double> outputs;
    for (const auto& rc : ds->reason_clients) {
      CHECK(rc.trace.mean_daily_requests > 0);
      CHECK(rc.trace.windows.size() <= 2 * 144);
      REQUIRE(!rc.tokens.empty());
      for (const auto& t : rc.tokens) outputs.push_back(t.output);
    }
    const double m = median(outputs);
    CHECK(m > 100);
    CHECK(m < 5000);
  }
}

TEST_CASE("a customer rotating keys on a schedule sends its traffic under a succession of keys from one network",
          "[sim][rotation]") {
  auto opts = days(7, 17);
  Population pop(opts.seed);
  KeyRotationOptions ro;
  ro.interval_s = 86400;
  ro.overlap_s = 2 * 3600;
  ro.start = opts.start;
  ro.end = opts.end();
  ro.group = "rotating-test";
  pop.add(make_key_rotating_persona(make_customer_persona(CustomerKind::SupportBot, data(), pop.next_stream()),
                                    pop.next_stream(), ro));
  const auto g = run(opts, pop);
  // 7 days, one rotation a day ±20%: 6 to 9 keys, every one labelled a look-alike of one group.
  REQUIRE(g.labels.size() >= 6);
  REQUIRE(g.labels.size() <= 9);
  for (const auto& [key, l] : g.labels) {
    CHECK(l.as_object().at("persona") == "lookalike/key_rotation");
    CHECK(l.as_object().at("group") == "rotating-test");
  }
  REQUIRE(g.records.size() > 200);
  std::map<std::string, std::pair<double, double>> span;  // key -> first, last request
  std::set<std::string> nets;
  for (const auto& r : g.records) {
    const double ts = r.at("ts").as_double();
    auto [it, fresh] = span.try_emplace(key_of(r), ts, ts);
    if (!fresh) it->second.second = ts;
    nets.insert(slash24(std::string(r.at("client_ip").as_string())));
    CHECK(g.labels.contains(key_of(r)));
  }
  CHECK(span.size() >= 5);  // the keys really send
  CHECK(nets.size() <= 3);  // the customer's own network throughout
  // In succession: ordered by first request, each key's traffic ends at most
  // the overlap after the next one starts.
  std::vector<std::pair<double, double>> spans;
  for (const auto& [k, s] : span) spans.push_back(s);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 0; i + 1 < spans.size(); ++i) CHECK(spans[i].second <= spans[i + 1].first + ro.overlap_s);
}
