// The assembly `distillguard --config` uses: Enforcement + Observability from
// one config text; an operator blocks a key over the admin API, the proxy
// answers 403, an alert is delivered, and /metrics on the admin port shows it.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "config/config.hpp"
#include "gateway/app/enforcement.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/app/observability_setup.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tools/webhook_receiver.hpp"

using namespace dg;
using namespace dg::gateway;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

int request(std::uint16_t port, http::verb verb, const std::string& target, const std::string& bearer,
            const std::string& body, std::string* out = nullptr) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.expires_after(10s);
  s.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  if (out) *out = res.body();
  return res.result_int();
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

TEST_CASE("observability setup: operator block -> 403, alert delivered, /metrics counts it", "[observability]") {
  WebhookReceiverOptions uo;
  WebhookReceiver upstream(uo);
  WebhookReceiverOptions ro;
  ro.secret = "setup-secret";
  WebhookReceiver receiver(ro);
  const std::string token = "setup-admin-token-0123456789";
  const std::string text = "listen: {address: 127.0.0.1, port: 0}\n"
                           "workers: 1\n"
                           "upstream: {url: 'http://127.0.0.1:" + std::to_string(upstream.port()) + "'}\n"
                           "admin: {listen: 127.0.0.1, port: 0, token: '" + token + "'}\n"
                           "alerts:\n"
                           "  sinks:\n"
                           "    - {name: sec, type: webhook, url: '" + receiver.url() + "', secret: setup-secret}\n"
                           "policy:\n"
                           "  allow_empty: true\n"
                           "  rules: []\n";
  // The policy reloader reads the file itself, so the config lives on disk.
  const auto path = (std::filesystem::temp_directory_path() /
                     ("dg_observability_setup_" + std::to_string(::getpid()) + ".yaml"))
                        .string();
  { std::ofstream(path) << text; }
  auto cfg = config::load_config(path);
  auto enforcement = Enforcement::create(cfg, nullptr, unix_now());
  auto obs = Observability::create(cfg, *enforcement, nullptr);
  ProxyServer proxy(cfg, obs->hooks());
  obs->attach_proxy(proxy);
  obs->start();
  enforcement->start();
  const auto port = proxy.start();
  REQUIRE(enforcement->admin());
  const auto admin_port = enforcement->admin()->port();
  REQUIRE(admin_port != 0);

  // Counters from default_metrics() are process-wide: compare before and after.
  std::string before_text;
  REQUIRE(request(admin_port, http::verb::get, "/metrics", token, "", &before_text) == 200);
  auto count = [](const std::string& t, const std::string& series) {
    auto at = t.find(series + " ");
    return at == std::string::npos ? 0.0 : std::stod(t.substr(at + series.size() + 1));
  };
  const std::string blocked = R"(dg_requests_total{route="chat_completions",status="403",action="block"})";
  const std::string delivered = R"(dg_alert_deliveries_total{sink="sec"})";
  const double blocked0 = count(before_text, blocked);
  const double delivered0 = count(before_text, delivered);

  const std::string chat = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  const std::string allowed = R"(dg_requests_total{route="chat_completions",status="200",action="allow"})";
  const double allowed0 = count(before_text, allowed);
  CHECK(request(port, http::verb::post, "/v1/chat/completions", "sk-victim", chat) == 200);
  // The exchange is recorded just after its response went out: wait until it
  // is counted, so that the alert's request bundle holds it.
  {
    std::string t;
    const auto until = std::chrono::steady_clock::now() + 10s;
    do {
      REQUIRE(request(admin_port, http::verb::get, "/metrics", token, "", &t) == 200);
    } while (count(t, allowed) < allowed0 + 1 && std::chrono::steady_clock::now() < until);
    CHECK(count(t, allowed) == allowed0 + 1);
  }
  const auto fp = key_fingerprint("sk-victim");
  CHECK(request(admin_port, http::verb::post, "/v1/decisions", token,
                R"({"key_fp":")" + fp + R"(","action":"block","reason":"seen harvesting"})") == 201);
  CHECK(request(port, http::verb::post, "/v1/chat/completions", "sk-victim", chat) == 403);
  REQUIRE(receiver.wait_for(1, 10s) >= 1);
  auto alert = boost::json::parse(receiver.received().at(0).body).as_object();
  CHECK(alert.at("event") == "decision_created");
  CHECK(alert.at("key_fp").as_string() == fp);
  CHECK(alert.at("decision").at("origin") == "operator");
  CHECK(alert.at("requests").as_array().size() == 1);
  CHECK(receiver.received().at(0).signature_ok);

  std::string after_text;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    REQUIRE(request(admin_port, http::verb::get, "/metrics", token, "", &after_text) == 200);
  } while ((count(after_text, delivered) < delivered0 + 1 || count(after_text, blocked) < blocked0 + 1) &&
           std::chrono::steady_clock::now() < deadline);
  CHECK(count(after_text, blocked) == blocked0 + 1);
  CHECK(count(after_text, delivered) == delivered0 + 1);
  CHECK(count(after_text, R"(dg_active_decisions{action="block"})") == 1);
  // The data path's own counters are exported too (bytes, connections, events).
  CHECK(count(after_text, R"(dg_client_bytes_total{direction="out"})") >
        count(before_text, R"(dg_client_bytes_total{direction="out"})") + 200);
  CHECK(count(after_text, R"(dg_client_bytes_total{direction="in"})") >=
        count(before_text, R"(dg_client_bytes_total{direction="in"})") + 2 * chat.size());
  CHECK(count(after_text, R"(dg_upstream_connections_total{kind="new"})") >= 1);
  CHECK(after_text.find(R"(dg_proxy_events_total{event="client_abort"})") != std::string::npos);
  CHECK(after_text.find("dg_client_connections_active ") != std::string::npos);
  CHECK(request(admin_port, http::verb::get, "/metrics", "", "") == 401);

  proxy.stop(2s);
  enforcement->stop();
  obs->stop();
  std::filesystem::remove(path);
}
