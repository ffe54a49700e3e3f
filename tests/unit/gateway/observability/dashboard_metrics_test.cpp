#include <catch2/catch.hpp>

// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> when built with
// the sanitizers at -O1 (scripts/test-sanitizers.sh).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "gateway/observability/dg_metrics.hpp"

// The Grafana dashboard must only query metric families DistillGuard exports.
TEST_CASE("dashboard: every metric in docker/grafana-dashboard.json is exported", "[metrics]") {
  std::ifstream in(std::string(DG_SOURCE_DIR) + "/docker/grafana-dashboard.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  dg::gateway::metrics::Registry reg;
  dg::gateway::DgMetrics m(reg);
  const std::string exposition = m.render_prometheus();

  std::set<std::string> used;
  std::regex name_re("dg_[a-z_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name_re); it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix) && name.find("_seconds") != std::string::npos) name.resize(name.size() - std::strlen(suffix));
    used.insert(name);
  }
  CHECK(used.size() >= 15);
  for (const auto& name : used) {
    INFO(name);
    CHECK(exposition.find("# TYPE " + name + " ") != std::string::npos);
  }
}
