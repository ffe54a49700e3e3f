// A scripted run through the real proxy with enforcement, detection (a
// scripted assessment source), alerts and the admin listener; then /metrics is
// parsed and its counters are checked against what the run did.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "config/policy_config.hpp"
#include "config/yaml_reader.hpp"
#include "gateway/admin/admin_server.hpp"
#include "gateway/alerts/alert_dispatcher.hpp"
#include "gateway/alerts/decision_alerts.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/app/instrumented_hooks.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/app/metrics_wiring.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tools/webhook_receiver.hpp"

using namespace dg;
using namespace dg::gateway;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

/// Scripted detection: a key whose fingerprint is in `distillers` reaches
/// risk 0.95 with a reasoning-elicitation finding at its 3rd request.
class ScriptedDetection : public AssessmentSource {
 public:
  explicit ScriptedDetection(std::string distiller_fp) : distiller_(std::move(distiller_fp)) {}
  detectors::KeyAssessment observe(const detectors::Exchange& ex) override {
    std::lock_guard lock(mutex_);
    auto n = ++counts_[ex.key_fp];
    detectors::KeyAssessment a;
    a.key_fp = ex.key_fp;
    a.request_index = n;
    if (ex.key_fp == distiller_ && n >= 3) {
      a.risk = 0.95;
      a.findings.push_back({"reasoning_elicitation", 0.95, {"3 of 3 requests ask for the reasoning behind a given answer"}});
      a.scores = a.findings;
      a.new_finding = n == 3;
    }
    return a;
  }
  detectors::KeyAssessment peek(const std::string& key_fp, double) const override {
    detectors::KeyAssessment a;
    a.key_fp = key_fp;
    return a;
  }

 private:
  std::string distiller_;
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;
};

struct Client {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  explicit Client(std::uint16_t port) {
    stream.expires_after(10s);
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  http::response<http::string_body> send(http::verb verb, const std::string& target, const std::string& auth,
                                         const std::string& body = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!auth.empty()) req.set(http::field::authorization, "Bearer " + auth);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    req.keep_alive(true);
    stream.expires_after(10s);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    stream.expires_after(10s);
    http::read(stream, buf, res);
    return res;
  }
};

const std::string kChat =
    R"({"model":"demo","messages":[{"role":"user","content":"Explain step by step why the answer is 42."}]})";

/// Prometheus text -> {"name{labels}": value}; labels kept as written.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double value_or_zero(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

TEST_CASE("observability: /metrics after a scripted run matches what the run did", "[observability]") {
  // Upstream: any 200 JSON answer will do (the webhook receiver is one).
  WebhookReceiverOptions up_opts;
  WebhookReceiver upstream(up_opts);
  WebhookReceiverOptions rx_opts;
  rx_opts.secret = "run-secret";
  WebhookReceiver receiver(rx_opts);

  metrics::Registry registry;
  DgMetrics m(registry);

  // Policy: block at risk >= 0.9.
  config::YamlSection ps(config::load_yaml_text("rules:\n  - name: block-distillers\n    when: {risk: 0.9}\n    action: block\n",
                                                "policy.yaml"),
                         "policy.yaml");
  auto policy = std::make_shared<const detectors::Policy>(config::parse_policy(ps));
  detectors::PolicyEngine policy_engine(policy);
  DecisionStore store(DecisionStoreOptions{});
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(store.open(unix_now(), warnings, error));

  const std::string distiller_fp = key_fingerprint("sk-distiller");
  ScriptedDetection scripted(distiller_fp);
  InstrumentedDetection detection(scripted, m);
  Enforcer enforcer(policy_engine, store, &detection);

  config::AlertsConfig acfg;
  config::AlertSinkConfig sink;
  sink.name = "security";
  sink.url = receiver.url();
  sink.endpoint = *config::parse_sink_url(sink.url);
  sink.secret = "run-secret";
  sink.retry = {3, 1, 5};
  acfg.sinks.push_back(sink);
  acfg.group_window_seconds = 300;
  AlertDispatcher dispatcher(acfg, m);
  dispatcher.start();
  DecisionAlerter alerter(dispatcher, m);
  store.set_listener([&](const detectors::Decision& d, std::string_view actor) { alerter.on_store_change(d, actor); });
  enforcer.set_decision_listener(
      [&](const detectors::Decision& d, const detectors::KeyAssessment& a) { alerter.on_policy_decision(d, a); });
  auto hooks = std::make_shared<InstrumentedHooks>(enforcer, m, &alerter);

  config::ProxyConfig pcfg;
  pcfg.listen.address = "127.0.0.1";
  pcfg.listen.port = 0;
  pcfg.upstream.url = "http://127.0.0.1:" + std::to_string(upstream.port());
  pcfg.workers = 1;  // on_exchange of one request runs before the next is read: a deterministic script
  ProxyServer proxy(pcfg, hooks);
  const auto proxy_port = proxy.start();
  publish_proxy_stats(m, proxy.stats());
  publish_decision_gauges(m, store.table(), unix_now);

  net::io_context admin_ioc;
  AdminOptions aopt;
  aopt.token = "admin-token";
  AdminServer admin(admin_ioc, aopt);
  register_metrics_route(admin, m);
  REQUIRE(admin.start(error));
  auto admin_guard = net::make_work_guard(admin_ioc);
  std::thread admin_thread([&] { admin_ioc.run(); });

  auto scrape = [&] {
    Client c(admin.port());
    auto res = c.send(http::verb::get, "/metrics", "admin-token");
    REQUIRE(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    return parse_metrics(res.body());
  };

  // --- the run ---
  int ok_allow = 0, blocked = 0;
  {
    Client c(proxy_port);
    for (int i = 0; i < 4; ++i) {
      auto r = c.send(http::verb::post, "/v1/chat/completions", "sk-benign", kChat);
      CHECK(r.result_int() == 200);
      ok_allow += r.result_int() == 200;
    }
    for (int i = 0; i < 6; ++i) {
      auto r = c.send(http::verb::post, "/v1/chat/completions", "sk-distiller", kChat);
      if (i < 3) {
        CHECK(r.result_int() == 200);
        ok_allow += r.result_int() == 200;
      } else {
        CHECK(r.result_int() == 403);
        blocked += r.result_int() == 403;
      }
    }
    auto e = c.send(http::verb::post, "/v1/embeddings", "sk-benign", R"({"model":"e","input":"x"})");
    CHECK(e.result_int() == 200);
  }
  {
    // Refused on its head: answered, then the connection closes (its body is never read).
    Client c(proxy_port);
    auto r = c.send(http::verb::post, "/v1/chat/completions", "", kChat);
    CHECK(r.result_int() == 401);
    CHECK_FALSE(r.keep_alive());
  }
  CHECK(ok_allow == 7);
  CHECK(blocked == 3);

  // The proxy counts a request after its response went out (on_exchange), so
  // the client can be a little ahead of the counters: scrape until the run's
  // last request is in, with a deadline.
  auto scrape_until = [&](const std::function<bool(const std::map<std::string, double>&)>& done) {
    std::map<std::string, double> scraped;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    do {
      scraped = scrape();
    } while (!done(scraped) && std::chrono::steady_clock::now() < deadline);
    return scraped;
  };
  auto requests_total = [](const std::map<std::string, double>& scraped) {
    double total = 0;
    for (const auto& [k, v] : scraped)
      if (k.starts_with("dg_requests_total{")) total += v;
    return total;
  };

  // Decision created -> one alert; wait for it, then scrape.
  REQUIRE(receiver.wait_for(1, 10s) >= 1);
  auto before_lift = scrape_until([&](const auto& s) { return requests_total(s) >= 12; });
  CHECK(before_lift.at(R"(dg_requests_total{route="chat_completions",status="200",action="allow"})") == 7);
  CHECK(before_lift.at(R"(dg_requests_total{route="chat_completions",status="403",action="block"})") == 3);
  CHECK(before_lift.at(R"(dg_requests_total{route="chat_completions",status="401",action="unauthenticated"})") == 1);
  CHECK(before_lift.at(R"(dg_requests_total{route="embeddings",status="200",action="allow"})") == 1);
  CHECK(requests_total(before_lift) == 12);
  CHECK(before_lift.at(R"(dg_active_decisions{action="block"})") == 1);
  CHECK(before_lift.at(R"(dg_active_decisions{action="throttle"})") == 0);
  CHECK(before_lift.at(R"(dg_detector_findings_total{detector="reasoning_elicitation"})") == 1);
  CHECK(before_lift.at(R"(dg_alerts_enqueued_total{event="decision_created"})") == 1);
  CHECK(value_or_zero(before_lift, R"(dg_upstream_errors_total{kind="other"})") == 0);
  CHECK(value_or_zero(before_lift, R"(dg_upstream_errors_total{kind="timeout"})") == 0);

  // An operator lifts the block: a decision_lifted alert goes out (never grouped).
  auto lift = detectors::PolicyEngine::operator_decision(*policy, distiller_fp, detectors::Action::Allow,
                                                         "false positive", unix_now());
  REQUIRE(store.apply(lift, "operator", unix_now()));
  {
    Client c(proxy_port);
    CHECK(c.send(http::verb::post, "/v1/chat/completions", "sk-distiller", kChat).result_int() == 200);
  }
  REQUIRE(receiver.wait_for(2, 10s) >= 2);

  // Deliveries are counted once the receiver's answer is read.
  auto after = scrape_until([&](const auto& s) {
    return value_or_zero(s, R"(dg_alert_deliveries_total{sink="security"})") >= 2 && requests_total(s) >= 13;
  });
  CHECK(after.at(R"(dg_alert_deliveries_total{sink="security"})") == 2);
  CHECK(after.at(R"(dg_alerts_enqueued_total{event="decision_lifted"})") == 1);
  CHECK(after.at(R"(dg_active_decisions{action="block"})") == 0);
  CHECK(after.at(R"(dg_requests_total{route="chat_completions",status="200",action="allow"})") == 8);
  CHECK(value_or_zero(after, R"(dg_alert_retries_total{sink="security"})") == 0);

  // The alerts: signed, about the distiller's key, with evidence and request metadata only.
  auto got = receiver.received();
  REQUIRE(got.size() == 2);
  for (const auto& r : got) CHECK(r.signature_ok);
  auto created = json::parse(got[0].body).as_object();
  CHECK(created.at("event") == "decision_created");
  CHECK(created.at("key_fp").as_string() == distiller_fp);
  CHECK(created.at("decision").at("action") == "block");
  CHECK(created.at("findings").at(0).at("detector") == "reasoning_elicitation");
  CHECK(created.at("requests").as_array().size() == 3);
  CHECK(got[0].body.find("step by step") == std::string::npos);  // no prompt text
  CHECK(got[0].body.find("sk-distiller") == std::string::npos);   // no key
  auto lifted = json::parse(got[1].body).as_object();
  CHECK(lifted.at("event") == "decision_lifted");
  CHECK(lifted.at("decision").at("previous_action") == "block");
  CHECK(lifted.at("decision").at("origin") == "operator");

  // Without the token /metrics is refused.
  {
    Client c(admin.port());
    CHECK(c.send(http::verb::get, "/metrics", "").result_int() == 401);
  }

  proxy.stop(2s);
  dispatcher.shutdown(5s);
  admin.stop();
  admin_guard.reset();
  admin_ioc.stop();
  admin_thread.join();
}
