// The deployment examples stay deployable: the Kubernetes sidecar manifest's
// ConfigMap holds a config and policy the proxy accepts, its probes and ports
// match that config, its grace period outlasts the drain; the compose file
// restarts, health-checks and drains the proxy; the Dockerfile health-checks.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "config/alerts_config.hpp"
#include "config/config.hpp"
#include "config/policy_config.hpp"
#include "config/state_config.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kSource = DG_SOURCE_DIR;

YAML::Node find_kind(const std::vector<YAML::Node>& docs, const std::string& kind) {
  for (const auto& d : docs)
    if (d["kind"] && d["kind"].as<std::string>() == kind) return d;
  FAIL("no " << kind << " in the manifest");
  return YAML::Node();
}

/// "20s", "1m30s" -> milliseconds (the compose duration forms used here).
long duration_ms(const std::string& text) {
  long total = 0, number = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      number = number * 10 + (c - '0');
    } else {
      total += number * (c == 'm' ? 60000 : c == 's' ? 1000 : c == 'h' ? 3600000 : 0);
      number = 0;
    }
  }
  return total;
}

}  // namespace

TEST_CASE("deploy: the Kubernetes sidecar manifest holds a valid config and matching probes", "[deploy]") {
  const auto docs = YAML::LoadAllFromFile(kSource + "/deploy/kubernetes/distillguard-sidecar.yaml");
  const auto config_map = find_kind(docs, "ConfigMap");
  const auto deployment = find_kind(docs, "Deployment");
  const auto secret = find_kind(docs, "Secret");

  // The ConfigMap's files, as the pod mounts them, pass the proxy's loaders.
  const auto dir = fs::temp_directory_path() / ("dg-deploy-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& kv : config_map["data"])
    std::ofstream(dir / kv.first.as<std::string>()) << kv.second.as<std::string>();
  ::setenv("DG_ADMIN_TOKEN", "deploy-test-token", 1);
  ::setenv("DG_ALERT_SECRET", "deploy-test-secret", 1);
  const auto config_path = (dir / "distillguard.yaml").string();
  const auto cfg = dg::config::load_config(config_path);
  const auto policy = dg::config::load_policy(dg::config::locate_policy(config_path));
  CHECK_FALSE(policy.rules.empty());
  CHECK(dg::config::load_alerts_config(cfg.alerts, config_path).sinks.size() == 1);

  const auto pod = deployment["spec"]["template"]["spec"];
  const auto containers = pod["containers"];
  std::size_t index = containers.size();
  for (std::size_t i = 0; i < containers.size(); ++i)
    if (containers[i]["name"].as<std::string>() == "distillguard") index = i;
  REQUIRE(index < containers.size());
  const YAML::Node guard = containers[index];
  std::map<std::string, int> ports;
  for (const auto& p : guard["ports"]) ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
  CHECK(ports.at("proxy") == cfg.proxy.listen.port);
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    CHECK(guard[probe]["httpGet"]["path"].as<std::string>() == "/healthz");
    CHECK(guard[probe]["httpGet"]["port"].as<std::string>() == "proxy");
  }
  CHECK(pod["terminationGracePeriodSeconds"].as<long>() * 1000 > static_cast<long>(cfg.proxy.timeouts.shutdown_grace_ms));
  CHECK(guard["securityContext"]["runAsUser"].as<int>() == 10001);
  // Secrets come from the Secret, by the names the config reads.
  std::set<std::string> from_secret;
  for (const auto& e : guard["env"])
    if (e["valueFrom"]["secretKeyRef"]["name"].as<std::string>() == secret["metadata"]["name"].as<std::string>())
      from_secret.insert(e["name"].as<std::string>());
  CHECK(from_secret == std::set<std::string>{"DG_ADMIN_TOKEN", "DG_ALERT_SECRET"});
  // The directory is mounted (subPath mounts never see ConfigMap updates: no hot reload).
  for (const auto& m : guard["volumeMounts"]) CHECK_FALSE(m["subPath"]);
  fs::remove_all(dir);
}

TEST_CASE("deploy: compose restarts, health-checks and drains the proxy, and the image health-checks", "[deploy]") {
  const auto compose = YAML::LoadFile(kSource + "/docker/compose.yaml");
  const auto proxy = compose["services"]["proxy"];
  CHECK(proxy["restart"].as<std::string>() == "unless-stopped");
  const auto grace = duration_ms(proxy["stop_grace_period"].as<std::string>());
  ::setenv("DG_ALERT_SECRET", "compose-test-secret", 1);
  ::setenv("DG_ADMIN_TOKEN", "compose-test-admin-token", 1);
  const auto cfg = dg::config::load_config(kSource + "/docker/distillguard.compose.yaml");
  CHECK(grace > static_cast<long>(cfg.proxy.timeouts.shutdown_grace_ms));
  const auto test = proxy["healthcheck"]["test"];
  REQUIRE(test.IsSequence());
  CHECK(test[1].as<std::string>() == "/usr/local/bin/distillguard");
  CHECK(test[2].as<std::string>() == "health");

  std::ifstream in(kSource + "/docker/Dockerfile");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto dockerfile = ss.str();
  CHECK(dockerfile.find("HEALTHCHECK") != std::string::npos);
  CHECK(dockerfile.find("\"health\"") != std::string::npos);
  CHECK(dockerfile.find("org.opencontainers.image.title") != std::string::npos);
}

TEST_CASE("deploy: the compose fleet profile runs Redis and two proxies sharing decisions", "[deploy]") {
  const auto compose = YAML::LoadFile(kSource + "/docker/compose.yaml");
  const auto services = compose["services"];
  const auto in_fleet_profile = [&](const char* name) {
    const auto p = services[name]["profiles"];
    return p.IsDefined() && p.IsSequence() && p.size() == 1 && p[0].as<std::string>() == "fleet";
  };
  CHECK(in_fleet_profile("redis"));
  std::set<std::string> hostnames, published;
  for (const char* name : {"fleet-a", "fleet-b"}) {
    INFO(name);
    const auto svc = services[name];
    REQUIRE(svc.IsMap());
    CHECK(in_fleet_profile(name));
    CHECK(svc["restart"].as<std::string>() == "unless-stopped");
    const auto deps = svc["depends_on"].as<std::vector<std::string>>();
    CHECK(std::find(deps.begin(), deps.end(), "redis") != deps.end());
    CHECK(std::find(deps.begin(), deps.end(), "upstream") != deps.end());
    hostnames.insert(svc["hostname"].as<std::string>());  // instance ids <hostname>-<pid> differ
    for (const auto& p : svc["ports"]) published.insert(p.as<std::string>());
    bool fleet_config = false, own_state = false;
    for (const auto& v : svc["volumes"]) {
      const auto m = v.as<std::string>();
      fleet_config |= m.rfind("./distillguard.fleet.yaml:/etc/distillguard/distillguard.yaml", 0) == 0;
      own_state |= m.rfind(std::string(name) + "-state:", 0) == 0;  // journals are per instance
    }
    CHECK(fleet_config);
    CHECK(own_state);
  }
  CHECK(hostnames.size() == 2);
  CHECK(published.size() == 4);
  CHECK_FALSE(in_fleet_profile("proxy"));  // the plain demo stays one proxy without Redis

  ::setenv("DG_ALERT_SECRET", "compose-test-secret", 1);
  ::setenv("DG_ADMIN_TOKEN", "compose-test-admin-token", 1);
  const auto cfg = dg::config::load_config(kSource + "/docker/distillguard.fleet.yaml");
  const auto state = dg::config::load_state_config(cfg);
  CHECK(state.backend == dg::config::StateBackend::Redis);
  CHECK(state.host == "redis");
  CHECK(state.port == 6379);
  CHECK(cfg.proxy.upstream.url == "http://upstream:8000");

  // The fleet instances run the single proxy's configuration plus `state`:
  // the two files may not drift apart.
  const auto single = YAML::LoadFile(kSource + "/docker/distillguard.compose.yaml");
  const auto fleet = YAML::LoadFile(kSource + "/docker/distillguard.fleet.yaml");
  CHECK_FALSE(single["state"].IsDefined());
  std::set<std::string> sections;
  for (const auto& doc : {single, fleet})
    for (const auto& kv : doc) sections.insert(kv.first.as<std::string>());
  for (const auto& name : sections) {
    if (name == "state") continue;
    INFO(name);
    CHECK(YAML::Dump(single[name]) == YAML::Dump(fleet[name]));
  }
}
