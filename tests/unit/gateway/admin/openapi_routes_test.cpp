// docs/admin-api.openapi.yaml describes exactly the admin router of the
// product: the route table is read from the App that `distillguard --config`
// builds (admin routes, /metrics and whatever else a module adds), not from a
// copy, so a route added without its documentation fails here.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <boost/beast/http/verb.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <set>
#include <string>

#include "config/config.hpp"
#include "gateway/app/app.hpp"

using namespace dg::gateway;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<AdminRoute> product_routes() {
  // A file: the policy is read from the config file itself (inline policy).
  const auto path = std::filesystem::temp_directory_path() / ("dg-openapi-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "listen: {address: 127.0.0.1, port: 0}\nupstream: {url: 'http://127.0.0.1:9'}\n"
                         "log: {level: warn}\nadmin: {port: 0, token: openapi-test-token}\n";
  const auto cfg = dg::config::load_config(path.string());
  auto app = App::create(cfg, 1764691200);
  std::filesystem::remove(path);
  REQUIRE(app->enforcement().admin() != nullptr);
  return app->enforcement().admin()->routes();
}

}  // namespace

TEST_CASE("the OpenAPI file lists exactly the admin router's paths and methods", "[admin][openapi]") {
  const auto doc = YAML::LoadFile(std::string(DG_SOURCE_DIR) + "/docs/admin-api.openapi.yaml");
  REQUIRE(doc["openapi"].as<std::string>().starts_with("3."));
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};

  std::set<std::string> documented;
  for (const auto& path : doc["paths"]) {
    const auto p = path.first.as<std::string>();
    // Every {parameter} of the template is declared as a path parameter.
    std::set<std::string> declared;
    auto collect = [&](const YAML::Node& params) {
      for (const auto& param : params) {
        // (Copy-constructed, never assigned: assigning a yaml-cpp Node rebinds the node inside the document.)
        const YAML::Node n =
            param["$ref"] ? doc["components"]["parameters"][param["$ref"].as<std::string>().substr(24)] : param;
        if (n["in"].as<std::string>() == "path") declared.insert(n["name"].as<std::string>());
      }
    };
    collect(path.second["parameters"]);
    for (const auto& op : path.second) {
      const auto m = op.first.as<std::string>();
      if (!kMethods.count(m)) continue;
      collect(op.second["parameters"]);
      CHECK(op.second["responses"].IsMap());
      documented.insert(m + " " + p);
    }
    for (std::size_t open = p.find('{'); open != std::string::npos; open = p.find('{', open + 1)) {
      INFO(p);
      CHECK(declared.count(p.substr(open + 1, p.find('}', open) - open - 1)) == 1);
    }
  }

  std::set<std::string> routed;
  for (const auto& r : product_routes()) {
    const auto entry = lower(std::string(boost::beast::http::to_string(r.method))) + " " + r.path;
    routed.insert(entry);
    // A public route is documented as needing no token.
    const auto op = doc["paths"][r.path][lower(std::string(boost::beast::http::to_string(r.method)))];
    if (op) {
      INFO(entry);
      const bool no_security = op["security"] && op["security"].IsSequence() && op["security"].size() == 0;
      CHECK(no_security == r.is_public);
    }
  }
  CHECK(routed.count("get /v1/decisions/{key_fp}") == 1);  // templates, not prefixes
  CHECK(routed.count("get /metrics") == 1);
  CHECK(documented == routed);
}
