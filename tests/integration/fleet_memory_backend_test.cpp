// `state: {backend: memory}` (the embedded default): no Redis, no fleet, the
// product serves and decides exactly as without the section. Runs everywhere
// (no redis-server needed, none is started).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "gateway/app/app.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"
#include "tests/test_files.hpp"

using namespace dg;
using namespace dg::gateway;

TEST_CASE("fleet: backend memory needs no Redis and changes nothing", "[integration][fleet][memory]") {
  const auto dir = test::fresh_temp_dir("fleet-mem");
  test::FakeUpstream upstream;
  const auto path = (dir / "distillguard.yaml").string();
  std::ofstream(path) << "listen: {address: 127.0.0.1, port: 0}\n"
                      << "upstream: {url: \"" << upstream.url() << "\"}\n"
                      << "workers: 1\nlog: {level: warn}\n"
                      << "identity: {fingerprint_salt: mem-salt}\n"
                      << "state: {backend: memory}\n"
                      << "admin: {port: 0, token: fleet-mem-admin-token}\n";
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto app = App::create(config::load_config(path), now);
  CHECK(app->fleet() == nullptr);
  const auto port = app->start();
  const auto admin = app->admin_port();
  const auto fp = key_fingerprint("sk-mem", "mem-salt");
  CHECK(test::request(port, test::make_request("/v1/chat/completions", R"({"model":"m"})", {}, "sk-mem")).status == 200);
  CHECK(test::http_request(admin, "POST", "/v1/decisions", "fleet-mem-admin-token",
                           R"({"key_fp":")" + fp + R"(","action":"block","reason":"memory test","ttl_s":60})")
            .status == 201);
  CHECK(test::request(port, test::make_request("/v1/chat/completions", R"({"model":"m"})", {}, "sk-mem")).status == 403);
  const auto m = test::http_request(admin, "GET", "/metrics", "fleet-mem-admin-token");
  CHECK(m.body.find("\ndg_fleet_connected 0") != std::string::npos);
  CHECK(m.body.find("\ndg_fleet_commands_total 0") != std::string::npos);
  app->stop();
  std::filesystem::remove_all(dir);
}
