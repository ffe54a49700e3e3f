// Alert delivery against a local webhook receiver on 127.0.0.1:0: signatures,
// retries after 500, grouping, the dead-letter file, overflow, and shutdown.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/alerts/alert_dispatcher.hpp"
#include "gateway/alerts/alert_signature.hpp"
#include "tools/webhook_receiver.hpp"

using namespace dg::gateway;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace config = dg::config;

namespace {

constexpr auto kWait = 10s;  // generous: a loaded 2-core machine

WebhookReceiverOptions rx_opts(std::string secret, int fail_first = 0,
                               std::function<int(std::size_t, const ReceivedWebhook&)> status_for = {}) {
  WebhookReceiverOptions o;
  o.secret = std::move(secret);
  o.fail_first = fail_first;
  o.status_for = std::move(status_for);
  return o;
}

config::AlertSinkConfig webhook_sink(const std::string& url, const std::string& secret = "s3cr3t") {
  config::AlertSinkConfig s;
  s.name = "security";
  s.type = config::SinkType::Webhook;
  s.url = url;
  s.endpoint = *config::parse_sink_url(url);
  s.secret = secret;
  s.timeout_seconds = 5;
  s.retry = {4, 1, 5};  // tiny backoffs in tests
  return s;
}

Alert sample_alert(const std::string& key = "fp:0123456789abcdef", double ts = 1'700'000'000,
                   AlertEvent event = AlertEvent::DecisionCreated) {
  Alert a;
  a.event = event;
  a.ts = ts;
  a.key_fp = key;
  a.risk = 0.91;
  a.decision = AlertDecision{"block", event == AlertEvent::DecisionEscalated ? "throttle" : "", "risk 0.91 >= 0.8",
                             "detector", false, ts, ts + 3600};
  a.findings.push_back({"reasoning_elicitation", 0.92, {"71% of 1,340 requests ask for the reasoning behind a given answer"}});
  dg::detectors::Exchange ex;
  ex.ts = ts - 1;
  ex.key_fp = key;
  ex.client_ip = "203.0.113.7";
  ex.request.endpoint = dg::detectors::Endpoint::ChatCompletions;
  ex.request.model = "gpt-4o-mini";
  ex.request.logprobs = true;
  ex.request.top_logprobs = 20;
  ex.request.prompt.template_signature = 0xabcdef0123456789ULL;
  ex.response.status = 200;
  ex.response.prompt_tokens = 120;
  ex.response.completion_tokens = 900;
  a.requests.push_back(alert_request_from(ex));
  return a;
}

std::string temp_path(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("dg_alerts_" + name + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".jsonl");
  std::filesystem::remove(p);
  return p.string();
}

std::vector<json::value> read_jsonl(const std::string& path) {
  std::vector<json::value> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

/// A port with nothing listening (bound, then closed).
std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = a.local_endpoint().port();
  a.close();
  return port;
}

}  // namespace

TEST_CASE("alerts: a delivered webhook carries a verifiable HMAC signature and no secrets", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t"));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.sinks.push_back(webhook_sink(rx.url()));
  AlertDispatcher d(cfg, m);
  d.start();
  auto alert = sample_alert();
  REQUIRE(d.enqueue(alert));
  REQUIRE(rx.wait_for(1, kWait) == 1);
  REQUIRE(d.shutdown(5s));

  auto got = rx.received().at(0);
  CHECK(got.signature_ok);
  // Recompute independently of the product's code: v1=HMAC(secret, ts + "." + body).
  CHECK(got.signature == "v1=" + hmac_hex("s3cr3t", got.timestamp + "." + got.body));
  CHECK_FALSE(got.signature == "v1=" + hmac_hex("wrong", got.timestamp + "." + got.body));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(std::stoll(got.timestamp) - now) < 60);
  CHECK(got.content_type == "application/json");
  CHECK(got.event == "decision_created");
  CHECK(got.attempt == 1);

  auto body = json::parse(got.body).as_object();
  CHECK(body.at("schema") == "distillguard.alert.v1");
  CHECK(body.at("id").as_string() == got.alert_id);
  CHECK(body.at("event") == "decision_created");
  CHECK(body.at("key_fp") == "fp:0123456789abcdef");
  CHECK(body.at("decision").at("action") == "block");
  CHECK(body.at("findings").at(0).at("detector") == "reasoning_elicitation");
  auto req = body.at("requests").at(0).as_object();
  CHECK(req.at("template_signature") == "abcdef0123456789");
  CHECK(req.at("top_logprobs").to_number<int>() == 20);
  CHECK(req.at("completion_tokens").to_number<int>() == 900);
  CHECK_FALSE(req.contains("prompt"));
  CHECK_FALSE(req.contains("messages"));

  auto e = reg.render_prometheus();
  CHECK(e.find("dg_alert_deliveries_total{sink=\"security\"} 1\n") != std::string::npos);
  CHECK(e.find("dg_alerts_enqueued_total{event=\"decision_created\"} 1\n") != std::string::npos);
}

TEST_CASE("alerts: a tampered body or a wrong secret does not verify", "[alerts]") {
  WebhookReceiver rx(rx_opts("other-secret"));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.sinks.push_back(webhook_sink(rx.url(), "s3cr3t"));
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(1, kWait) == 1);
  d.shutdown(5s);
  auto got = rx.received().at(0);
  CHECK_FALSE(got.signature_ok);
  CHECK(verify_alert_signature("s3cr3t", got.timestamp, got.body, got.signature));
  CHECK_FALSE(verify_alert_signature("s3cr3t", got.timestamp, got.body + " ", got.signature));
  CHECK_FALSE(verify_alert_signature("s3cr3t", std::to_string(std::stoll(got.timestamp) + 1), got.body, got.signature));
}

TEST_CASE("alerts: a 500 is retried with backoff and then delivered", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t", 2));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.dead_letter_file = temp_path("retry_dl");
  cfg.sinks.push_back(webhook_sink(rx.url()));
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(3, kWait) == 3);
  REQUIRE(d.shutdown(5s));

  auto got = rx.received();
  REQUIRE(got.size() == 3);
  CHECK(got[0].status_sent == 500);
  CHECK(got[1].status_sent == 500);
  CHECK(got[2].status_sent == 200);
  for (int i = 0; i < 3; ++i) {
    CHECK(got[i].attempt == i + 1);
    CHECK(got[i].alert_id == got[0].alert_id);
    CHECK(got[i].body == got[0].body);  // the same alert; only the signature's timestamp may change
    CHECK(got[i].signature_ok);
  }
  CHECK(m.alert_retries.with({"security"}).value() == 2);
  CHECK(m.alert_deliveries.with({"security"}).value() == 1);
  CHECK(m.alert_dead_lettered.with({"security"}).value() == 0);
  CHECK_FALSE(std::filesystem::exists(cfg.dead_letter_file));
}

TEST_CASE("alerts: grouping suppresses a second page for the same key within the window", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t"));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.group_window_seconds = 300;
  cfg.sinks.push_back(webhook_sink(rx.url()));
  AlertDispatcher d(cfg, m);
  d.start();
  const double t0 = 1'700'000'000;
  CHECK(d.submit(sample_alert("fp:aaaaaaaaaaaaaaaa", t0)) == AlertDispatcher::Admission::Queued);
  CHECK(d.submit(sample_alert("fp:aaaaaaaaaaaaaaaa", t0 + 100)) == AlertDispatcher::Admission::Grouped);
  CHECK(d.submit(sample_alert("fp:bbbbbbbbbbbbbbbb", t0 + 101)) == AlertDispatcher::Admission::Queued);
  // Escalations always go through and report what was suppressed.
  CHECK(d.submit(sample_alert("fp:aaaaaaaaaaaaaaaa", t0 + 150, AlertEvent::DecisionEscalated)) ==
        AlertDispatcher::Admission::Queued);
  // After the window the key pages again.
  CHECK(d.submit(sample_alert("fp:aaaaaaaaaaaaaaaa", t0 + 150 + 301)) == AlertDispatcher::Admission::Queued);
  REQUIRE(rx.wait_for(4, kWait) == 4);
  REQUIRE(d.shutdown(5s));
  auto got = rx.received();
  CHECK(got.size() == 4);
  int escalated = 0;
  for (const auto& r : got) {
    auto body = json::parse(r.body).as_object();
    if (r.event == "decision_escalated") {
      ++escalated;
      CHECK(body.at("grouped_count").to_number<int>() == 1);
    }
  }
  CHECK(escalated == 1);
  CHECK(m.alerts_grouped.value() == 1);
}

TEST_CASE("alerts: keys of one campaign page once per window", "[alerts]") {
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.group_window_seconds = 60;
  AlertDispatcher d(cfg, m);  // not started: grouping happens at enqueue
  auto a = sample_alert("fp:1111111111111111", 1000);
  a.campaign = "cmp-7";
  auto b = sample_alert("fp:2222222222222222", 1010);
  b.campaign = "cmp-7";
  CHECK(d.submit(a) == AlertDispatcher::Admission::Queued);
  CHECK(d.submit(b) == AlertDispatcher::Admission::Grouped);
  CHECK(d.queued() == 1);
}

TEST_CASE("alerts: the dead-letter file gets the alert once the retry budget is spent", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t", 1000));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.dead_letter_file = temp_path("dead");
  auto sink = webhook_sink(rx.url());
  sink.retry = {3, 1, 4};
  cfg.sinks.push_back(sink);
  auto refused = webhook_sink("http://127.0.0.1:" + std::to_string(closed_port()) + "/x");
  refused.name = "refused";
  refused.retry = {2, 1, 2};
  cfg.sinks.push_back(refused);
  AlertDispatcher d(cfg, m);
  d.start();
  auto alert = sample_alert();
  alert.id = "deadbeefdeadbeefdeadbeefdeadbeef";
  REQUIRE(d.enqueue(alert));
  REQUIRE(rx.wait_for(3, kWait) == 3);
  REQUIRE(d.shutdown(5s));  // waits for both sinks to reach a final state
  CHECK(rx.count() == 3);

  auto lines = read_jsonl(cfg.dead_letter_file);
  REQUIRE(lines.size() == 2);
  std::map<std::string, json::object> by_sink;
  for (auto& l : lines) by_sink[std::string(l.at("sink").as_string())] = l.as_object();
  CHECK(by_sink.at("security").at("reason") == "retries_exhausted");
  CHECK(by_sink.at("security").at("attempts").to_number<int>() == 3);
  CHECK(by_sink.at("security").at("last_error") == "HTTP 500");
  CHECK(by_sink.at("security").at("alert").at("id").as_string() == alert.id);
  CHECK(by_sink.at("security").at("alert").at("key_fp") == "fp:0123456789abcdef");
  CHECK(by_sink.at("refused").at("reason") == "retries_exhausted");
  CHECK(by_sink.at("refused").at("attempts").to_number<int>() == 2);
  CHECK(m.alert_dead_lettered.with({"security"}).value() == 1);
  CHECK(m.alert_dead_lettered.with({"refused"}).value() == 1);
  CHECK(m.alert_failures.with({"security", "retries_exhausted"}).value() == 1);
  CHECK(m.alert_retries.with({"security"}).value() == 2);
  CHECK(m.alert_retries.with({"refused"}).value() == 1);
  CHECK(m.alert_deliveries.with({"security"}).value() == 0);
  std::filesystem::remove(cfg.dead_letter_file);
}

TEST_CASE("alerts: a 4xx other than 429 is final and not retried", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t", 0, [](std::size_t, const ReceivedWebhook&) { return 400; }));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.dead_letter_file = temp_path("rejected");
  cfg.sinks.push_back(webhook_sink(rx.url()));
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(1, kWait) == 1);
  REQUIRE(d.shutdown(5s));
  CHECK(rx.count() == 1);
  CHECK(m.alert_failures.with({"security", "rejected"}).value() == 1);
  CHECK(m.alert_retries.with({"security"}).value() == 0);
  auto lines = read_jsonl(cfg.dead_letter_file);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("reason") == "rejected");
  std::filesystem::remove(cfg.dead_letter_file);
}

TEST_CASE("alerts: a 429 is retried", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t", 0, [](std::size_t i, const ReceivedWebhook&) { return i == 0 ? 429 : 200; }));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.sinks.push_back(webhook_sink(rx.url()));
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(2, kWait) == 2);
  REQUIRE(d.shutdown(5s));
  CHECK(m.alert_deliveries.with({"security"}).value() == 1);
  CHECK(m.alert_retries.with({"security"}).value() == 1);
}

TEST_CASE("alerts: queue overflow is counted and never blocks the caller", "[alerts]") {
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.queue_capacity = 2;
  cfg.group_window_seconds = 0;
  cfg.dead_letter_file = temp_path("overflow");
  cfg.sinks.push_back(webhook_sink("http://127.0.0.1:9/never"));
  AlertDispatcher d(cfg, m);  // not started: nothing drains the queue
  CHECK(d.enqueue(sample_alert()));
  CHECK(d.enqueue(sample_alert()));
  auto t = std::chrono::steady_clock::now();
  CHECK(d.submit(sample_alert()) == AlertDispatcher::Admission::Overflow);
  CHECK_FALSE(d.enqueue(sample_alert()));
  CHECK(std::chrono::steady_clock::now() - t < 1s);
  CHECK(m.alert_queue_overflow.value() == 2);
  CHECK(d.queued() == 2);
  CHECK(reg.render_prometheus().find("dg_alert_queue_overflow_total 2\n") != std::string::npos);
  // Shutting down a dispatcher that never ran keeps its alerts in the dead-letter file.
  CHECK_FALSE(d.shutdown(1s));
  CHECK(read_jsonl(cfg.dead_letter_file).size() == 2);
  CHECK(d.submit(sample_alert()) == AlertDispatcher::Admission::Closed);
  std::filesystem::remove(cfg.dead_letter_file);
}

TEST_CASE("alerts: shutdown stops waiting at its deadline and dead-letters what is left", "[alerts]") {
  WebhookReceiver rx(rx_opts("s3cr3t", 1000));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  cfg.dead_letter_file = temp_path("shutdown");
  auto sink = webhook_sink(rx.url());
  sink.retry = {10, 60'000, 60'000};  // would wait up to a minute between attempts
  cfg.sinks.push_back(sink);
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(1, kWait) >= 1);
  auto t = std::chrono::steady_clock::now();
  CHECK_FALSE(d.shutdown(200ms));
  CHECK(std::chrono::steady_clock::now() - t < 5s);
  auto lines = read_jsonl(cfg.dead_letter_file);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("reason") == "shutdown");
  CHECK(m.alert_failures.with({"security", "shutdown"}).value() == 1);
  std::filesystem::remove(cfg.dead_letter_file);
}

TEST_CASE("alerts: a Slack sink gets a Block Kit message", "[alerts]") {
  WebhookReceiver rx(rx_opts(""));
  metrics::Registry reg;
  DgMetrics m(reg);
  config::AlertsConfig cfg;
  auto sink = webhook_sink(rx.url("/services/T000/B000/XXXX"), "");
  sink.name = "slack";
  sink.type = config::SinkType::Slack;
  cfg.sinks.push_back(sink);
  AlertDispatcher d(cfg, m);
  d.start();
  REQUIRE(d.enqueue(sample_alert()));
  REQUIRE(rx.wait_for(1, kWait) == 1);
  REQUIRE(d.shutdown(5s));
  auto got = rx.received().at(0);
  CHECK(got.target == "/services/T000/B000/XXXX");
  CHECK(got.signature.empty());  // no secret configured: unsigned
  auto body = json::parse(got.body).as_object();
  CHECK(body.at("text").as_string().starts_with("DistillGuard: block fp:0123456789abcdef"));
  CHECK(body.at("blocks").as_array().size() >= 3);
}
