#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/state_config.hpp"

using dg::config::ConfigError;
using dg::config::load_config_text;
using dg::config::load_state_config;
using dg::config::StateBackend;
using dg::config::StateConfig;
using dg::config::StateFailMode;

namespace {

const std::string kHead = "listen: {address: 127.0.0.1, port: 0}\nupstream: {url: 'http://127.0.0.1:9'}\n";

StateConfig parse(const std::string& state) { return load_state_config(load_config_text(kHead + state, "s.yaml")); }

std::string parse_error(const std::string& state) {
  try {
    parse(state);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("state config: absent or memory means no Redis", "[config][state]") {
  CHECK(parse("").backend == StateBackend::Memory);
  const auto c = parse("state: {backend: memory}\n");
  CHECK(c.backend == StateBackend::Memory);
  CHECK(c.fail == StateFailMode::Open);
  CHECK(c.prefix == "dg");
}

TEST_CASE("state config: redis with url, password from the environment, fail closed, prefix", "[config][state]") {
  ::setenv("DG_TEST_REDIS_PW", "s3cret", 1);
  const auto c = parse(
      "state:\n  backend: redis\n  url: redis://10.1.2.3:6380/2\n  tls: false\n  password_env: DG_TEST_REDIS_PW\n"
      "  fail: closed\n  prefix: fleet-a\n  instance: api-1\n");
  CHECK(c.backend == StateBackend::Redis);
  CHECK(c.host == "10.1.2.3");
  CHECK(c.port == 6380);
  CHECK(c.db == 2);
  CHECK(c.password == "s3cret");
  CHECK(c.fail == StateFailMode::Closed);
  CHECK(c.prefix == "fleet-a");
  CHECK(c.instance == "api-1");
  const auto d = parse("state: {backend: redis, url: 'redis://cache.internal'}\n");
  CHECK(d.host == "cache.internal");
  CHECK(d.port == 6379);
  CHECK(d.db == 0);
  const auto v6 = parse("state: {backend: redis, url: 'redis://[::1]:7000/1'}\n");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 7000);
  CHECK(v6.db == 1);
}

TEST_CASE("state config: errors are located at the key, file:line:column", "[config][state]") {
  CHECK(parse_error("state: {backend: etcd}\n").starts_with("s.yaml:3:18: 'state.backend' must be memory or redis"));
  CHECK(parse_error("state:\n  backend: redis\n").find("s.yaml:4:3: 'state.url' is required with backend: redis") !=
        std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'http://x'}\n").find("s.yaml:3:30: 'state.url' must start with redis://") !=
        std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h:99999'}\n").find("invalid port '99999'") != std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h:1/x'}\n").find("invalid database 'x'") != std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://u:pw@h'}\n").find("must not hold credentials") !=
        std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'rediss://h'}\n").find("TLS") != std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h', tls: true}\n").find("'state.tls'") != std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h', fail: maybe}\n").find("must be open or closed") !=
        std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h', prefix: 'a b'}\n").find("'state.prefix'") !=
        std::string::npos);
  ::unsetenv("DG_TEST_REDIS_UNSET");
  CHECK(parse_error("state: {backend: redis, url: 'redis://h', password_env: DG_TEST_REDIS_UNSET}\n")
            .find("DG_TEST_REDIS_UNSET") != std::string::npos);
  CHECK(parse_error("state: {backend: redis, url: 'redis://h', urll: x}\n")
            .find("s.yaml:3:43: unknown key 'state.urll' (did you mean 'url'?)") != std::string::npos);
  CHECK(parse_error("state: [redis]\n").find("'state' must be a mapping") != std::string::npos);
}
