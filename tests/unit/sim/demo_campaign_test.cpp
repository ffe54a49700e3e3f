// The demo-campaign scenario (scripts/demo.sh): the demo population plus a
// small hydra whose day of traffic is compressed into the run.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "sim/data_set.hpp"
#include "sim/scenario.hpp"
#include "tests/shared_data_dir.hpp"

namespace json = boost::json;
using namespace dg::sim;

TEST_CASE("simulator: demo-campaign adds a compressed hydra to the demo, in time order and in range", "[sim][demo]") {
  static const auto ds = DataSet::load_or_builtin(dg::test::shared_data_dir());
  const auto* entry = find_scenario("demo-campaign");
  REQUIRE(entry);
  ScenarioOptions o;
  entry->defaults(o);
  o.duration_s = 120;
  std::ostringstream traffic, labels;
  const auto stats = generate_scenario("demo-campaign", o, *ds, traffic, labels);

  const auto label_obj = json::parse(labels.str()).as_object();
  std::set<std::string> hydra_keys;
  for (const auto& [key, l] : label_obj)
    if (l.as_object().at("persona").as_string() == "campaign/hydra") hydra_keys.insert(std::string(key));
  CHECK(hydra_keys.size() == 12);

  std::istringstream in(traffic.str());
  std::string line;
  double last = 0;
  std::map<std::string, int> per_hydra_key;
  while (std::getline(in, line)) {
    const auto rec = json::parse(line).as_object();
    const double ts = rec.at("ts").to_number<double>();
    REQUIRE(ts >= last);
    REQUIRE(ts >= o.start);
    REQUIRE(ts < o.end());
    last = ts;
    const std::string key(rec.at("key").as_string());
    if (hydra_keys.count(key)) ++per_hydra_key[key];
  }
  // ~26 requests per key per day; 120 s x 288 is 0.4 day: every key sends, none floods.
  CHECK(stats.records_by_class.at("campaign") >= 12 * 6);
  CHECK(per_hydra_key.size() == hydra_keys.size());
  for (const auto& [key, n] : per_hydra_key) CHECK(n <= 30);
  CHECK(stats.records_by_class.count("distiller"));
  CHECK(stats.records_by_class.count("benign"));
}
