#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"

using dg::config::ConfigError;
using dg::config::load_config;
using dg::config::load_config_text;

namespace {
std::string error_of(const std::string& yaml) {
  try {
    (void)load_config_text(yaml, "dg.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: a full proxy config is read", "[unit][config]") {
  const auto c = load_config_text(R"(
listen: {address: 127.0.0.1, port: 9000}
upstream:
  url: https://api.example.com/openai
  ca_file: /etc/ca.pem
  tls_verify: true
workers: 3
limits: {max_header_bytes: 8192, max_body_bytes: 1048576}
timeouts: {client_header_ms: 5000, upstream_connect_ms: 1000, upstream_first_byte_ms: 30000, upstream_idle_ms: 20000, shutdown_grace_ms: 2000}
identity:
  key_headers: [Authorization, x-api-key]
  fingerprint_salt: pepper
  allow_anonymous: true
  tenant_header: x-tenant
trusted_proxies: [10.0.0.0/8, "fd00::/8"]
log: {format: json, level: debug}
capture: {enabled: true, path: /tmp/c.jsonl, include_content: false}
detection: {anything: [1, 2]}
policy: {rules: []}
admin: {}
alerts: {webhooks: []}
)", "dg.yaml");
  const auto& p = c.proxy;
  CHECK(p.listen.port == 9000);
  CHECK(p.upstream.url == "https://api.example.com/openai");
  CHECK(p.upstream.ca_file == "/etc/ca.pem");
  CHECK(p.workers == 3);
  CHECK(p.limits.max_body_bytes == 1048576);
  CHECK(p.timeouts.upstream_first_byte_ms == 30000);
  CHECK(p.identity.key_headers == std::vector<std::string>{"authorization", "x-api-key"});
  CHECK(p.identity.allow_anonymous);
  CHECK(p.trusted_proxies.size() == 2);
  CHECK(p.log.format == "json");
  CHECK(p.capture.enabled);
  CHECK(c.detection["anything"].IsSequence());
  CHECK(c.policy.IsMap());
  CHECK(c.alerts["webhooks"].IsSequence());
}

TEST_CASE("config: defaults, workers 0 means the number of cores", "[unit][config]") {
  const auto c = load_config_text("upstream: {url: 'http://127.0.0.1:8000'}\n", "dg.yaml");
  CHECK(c.proxy.workers >= 1);
  CHECK(c.proxy.upstream.tls_verify);
  CHECK_FALSE(c.proxy.identity.allow_anonymous);
  CHECK(c.proxy.log.format == "text");
  CHECK(c.detection.IsNull());
}

TEST_CASE("config: errors are located as file:line:column", "[unit][config]") {
  CHECK(error_of("listen:\n  port: 80\n  prot: 1\n") == "dg.yaml:3:3: unknown key 'listen.prot' (did you mean 'port'?)");
  CHECK(error_of("upstream: {url: 'http://x'}\nbogus: 1\n") == "dg.yaml:2:1: unknown key 'bogus'");
  CHECK(error_of("listen:\n  port: eighty\n") == "dg.yaml:2:9: 'listen.port' must be a whole number, got 'eighty'");
  CHECK(error_of("listen:\n  port: 70000\n") == "dg.yaml:2:9: 'listen.port' must be between 0 and 65535");
  CHECK(error_of("upstream:\n  url: ftp://x\n") == "dg.yaml:2:8: 'upstream.url' must be an http:// or https:// URL, got 'ftp://x'");
  CHECK(error_of("trusted_proxies: [10.0.0.0/8, nope]\n") ==
        "dg.yaml:1:31: 'trusted_proxies' entry is not a CIDR block (e.g. 10.0.0.0/8): 'nope'");
  CHECK(error_of("log: {format: xml}\n") == "dg.yaml:1:15: 'log.format' must be one of: text, json; got 'xml'");
  CHECK(error_of("identity: {key_headers: [cookie]}\n").rfind("dg.yaml:1:25: 'identity.key_headers' entries must be", 0) == 0);
  CHECK(error_of("capture: {enabled: maybe}\n") == "dg.yaml:1:20: 'capture.enabled' must be a boolean (true/false), got 'maybe'");
  CHECK(error_of("listen: {address: 'not an ip'}\n").rfind("dg.yaml:1:19: 'listen.address' must be", 0) == 0);
  CHECK(error_of("timeouts: {upstream_idle_ms: -5}\n") == "dg.yaml:1:30: 'timeouts.upstream_idle_ms' must be between 1 and 86400000");
  CHECK(error_of("upstream: {ca_file: x}\n") == "dg.yaml:1:11: missing required key 'upstream.url'");
}

TEST_CASE("config: the example config file is valid", "[unit][config]") {
  const auto c = dg::config::load_config(std::string(DG_SOURCE_DIR) + "/config/distillguard.example.yaml");
  CHECK(c.proxy.listen.port == 8080);
  CHECK(c.proxy.timeouts.shutdown_grace_ms == 10000);
  CHECK(c.proxy.trusted_proxies.empty());
}

TEST_CASE("config: every error of the proxy's sections in one throw, sorted by line", "[unit][config]") {
  CHECK(error_of("timeouts: {upstream_idle_ms: -5}\nlisten:\n  port: eighty\n  adress: x\nupstream: {url: 'http://x'}\n"
                 "log: {format: xml}\nworkres: 2\n") ==
        "dg.yaml:1:30: 'timeouts.upstream_idle_ms' must be between 1 and 86400000\n"
        "dg.yaml:3:9: 'listen.port' must be a whole number, got 'eighty'\n"
        "dg.yaml:4:3: unknown key 'listen.adress' (did you mean 'address'?)\n"
        "dg.yaml:6:15: 'log.format' must be one of: text, json; got 'xml'\n"
        "dg.yaml:7:1: unknown key 'workres' (did you mean 'workers'?)");
}

TEST_CASE("config: an empty file or duplicate keys are errors", "[unit][config]") {
  CHECK(error_of("") == "dg.yaml:1:1: the file is empty (no settings)");
  CHECK(error_of("# only a comment\n") == "dg.yaml:1:1: the file is empty (no settings)");
  CHECK(error_of("upstream: {url: 'http://a'}\nupstream: {url: 'http://b'}\n") ==
        "dg.yaml:2:1: duplicate key 'upstream' (first at line 1)");
}

TEST_CASE("config: the fingerprint salt from an environment variable or a file", "[unit][config][secrets]") {
  ::setenv("DG_TEST_SALT", "pepper-env", 1);
  CHECK(load_config_text("upstream: {url: 'http://x'}\nidentity: {fingerprint_salt_env: DG_TEST_SALT}\n", "dg.yaml")
            .proxy.identity.fingerprint_salt == "pepper-env");
  ::unsetenv("DG_TEST_SALT");
  CHECK(error_of("upstream: {url: 'http://x'}\nidentity: {fingerprint_salt_env: DG_TEST_SALT}\n") ==
        "dg.yaml:2:34: environment variable 'DG_TEST_SALT' (from 'identity.fingerprint_salt_env') is not set or empty");

  const auto file = std::filesystem::temp_directory_path() / ("dg-salt-" + std::to_string(::getpid()));
  std::ofstream(file) << "pepper-file\n";
  CHECK(load_config_text("upstream: {url: 'http://x'}\nidentity: {fingerprint_salt_file: '" + file.string() + "'}\n",
                         "dg.yaml")
            .proxy.identity.fingerprint_salt == "pepper-file");
  CHECK(error_of("upstream: {url: 'http://x'}\nidentity: {fingerprint_salt: a, fingerprint_salt_file: '" + file.string() +
                 "'}\n")
            .starts_with("dg.yaml:2:33: give only one of 'identity.fingerprint_salt', 'identity.fingerprint_salt_env' and "
                         "'identity.fingerprint_salt_file'"));
  std::filesystem::remove(file);
  CHECK(error_of("upstream: {url: 'http://x'}\nidentity: {fingerprint_salt_file: /nonexistent/salt}\n") ==
        "dg.yaml:2:35: cannot read '/nonexistent/salt' (from 'identity.fingerprint_salt_file'): No such file or directory");
}
