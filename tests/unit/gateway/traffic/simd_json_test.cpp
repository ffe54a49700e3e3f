#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/traffic/simd_json.hpp"

using dg::gateway::json_as;
using dg::gateway::JsonFields;
using dg::gateway::parse_json;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

struct Parsed {
  simdjson::dom::parser parser;
  element root;
  simdjson::error_code error = simdjson::SUCCESS;
  explicit Parsed(std::string_view text, bool padded = false) {
    REQUIRE(dg::gateway::prepare_json_parser(parser) == simdjson::SUCCESS);
    error = parse_json(parser, text, padded, root);
  }
  element at(std::string_view key) const {
    element e;
    REQUIRE(root.at_key(key).get(e) == simdjson::SUCCESS);
    return e;
  }
};

}  // namespace

TEST_CASE("parse_json reads a padded buffer in place and an unpadded one by copy", "[json]") {
  const std::string line = R"({"a": "x", "b": [1, 2]})";
  std::vector<char> buffer(line.begin(), line.end());
  buffer.resize(line.size() + simdjson::SIMDJSON_PADDING, '}');  // what follows the text must not matter
  Parsed padded(std::string_view(buffer.data(), line.size()), /*padded=*/true);
  REQUIRE(padded.error == simdjson::SUCCESS);
  CHECK(json_as<std::string_view>(padded.at("a")) == "x");
  Parsed copied(line);
  REQUIRE(copied.error == simdjson::SUCCESS);
  CHECK(dg::gateway::array_size(json_as<simdjson::dom::array>(copied.at("b"))) == 2);
}

TEST_CASE("parse_json: numbers beyond simdjson's range get boost::json's values", "[json]") {
  Parsed p(R"({"big": 100000000000000000000, "neg": -9223372036854775809, "u": 18446744073709551615,
               "inf": 1e400, "ninf": -1e400, "s": "1e400 stays text"})");
  REQUIRE(p.error == simdjson::SUCCESS);
  CHECK(p.at("big").type() == element_type::DOUBLE);
  CHECK(json_as<double>(p.at("big")) == 1e20);
  CHECK(json_as<double>(p.at("neg")) == -9223372036854775808.0);
  CHECK(p.at("u").type() == element_type::UINT64);
  CHECK(json_as<std::uint64_t>(p.at("u")) == UINT64_MAX);
  CHECK(json_as<std::string_view>(p.at("inf")) == "Infinity");
  CHECK(json_as<std::string_view>(p.at("ninf")) == "-Infinity");
  CHECK(json_as<std::string_view>(p.at("s")) == "1e400 stays text");
}

TEST_CASE("parse_json: malformed numbers and documents stay errors with simdjson's code", "[json]") {
  CHECK(Parsed(R"({"n": 01})").error == simdjson::NUMBER_ERROR);
  CHECK(Parsed(R"({"n": 1.})").error == simdjson::NUMBER_ERROR);
  CHECK(Parsed(R"({"n": 100000000000000000000)").error != simdjson::SUCCESS);  // big number, truncated
  CHECK(Parsed("{\"s\": \"\xff\"}").error == simdjson::UTF8_ERROR);
  CHECK(Parsed("{} x").error != simdjson::SUCCESS);
}

TEST_CASE("JsonFields: one pass, the last of duplicate keys, absent keys null", "[json]") {
  Parsed p(R"({"a": 1, "b": 2, "a": 3, "c": 4})");
  REQUIRE(p.error == simdjson::SUCCESS);
  simdjson::dom::object o;
  REQUIRE(p.root.get(o) == simdjson::SUCCESS);
  const JsonFields<3> f(o, {"a", "z", "c"});
  REQUIRE(f[0]);
  CHECK(json_as<std::int64_t>(*f[0]) == 3);
  CHECK_FALSE(f[1]);
  REQUIRE(f[2]);
  CHECK(json_as<std::int64_t>(*f[2]) == 4);
}

TEST_CASE("parse_json: nesting up to 1024 levels is accepted, also on the big-number path", "[json]") {
  const auto nested = [](int depth, std::string_view leaf = "1") {
    return std::string(static_cast<std::size_t>(depth), '[') + std::string(leaf) +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  CHECK(Parsed(nested(1024)).error == simdjson::SUCCESS);
  CHECK(Parsed(nested(1025)).error == simdjson::DEPTH_ERROR);
  // A number simdjson cannot hold goes through boost::json, with the same limit.
  CHECK(Parsed(nested(1024, "1e400")).error == simdjson::SUCCESS);
}

TEST_CASE("parse_json: exponents beyond boost::json's range are read as Python reads them", "[json]") {
  // Python: float("1e9999999999") == inf, float("1e-9999999999") == 0.0.
  Parsed p(R"({"pad": 1e9999999999, "neg": -1E+99999999999999999999, "tiny": 1e-9999999999,
               "lead": 1e0000000000002, "s": "1e9999999999 in a string", "max_tokens": 10})");
  REQUIRE(p.error == simdjson::SUCCESS);
  CHECK(json_as<std::string_view>(p.at("pad")) == "Infinity");
  CHECK(json_as<std::string_view>(p.at("neg")) == "-Infinity");
  CHECK(json_as<double>(p.at("tiny")) == 0.0);
  CHECK(json_as<double>(p.at("lead")) == 100.0);
  CHECK(json_as<std::string_view>(p.at("s")) == "1e9999999999 in a string");
  CHECK(json_as<std::uint64_t>(p.at("max_tokens")) == 10);
}

TEST_CASE("clamp_extreme_exponents touches only exponents out of range, never strings", "[json]") {
  using dg::gateway::clamp_extreme_exponents;
  CHECK_FALSE(clamp_extreme_exponents(R"({"a": 1e400, "b": "1e99999999999", "c": true})"));
  CHECK(*clamp_extreme_exponents(R"({"a":1e9999999999})") == R"({"a":1e999999999})");
  CHECK(*clamp_extreme_exponents(R"([-2.5E-00012345678901,"\"e12345678901",3e12345678901])") ==
        R"([-2.5E-000999999999,"\"e12345678901",3e999999999])");
  CHECK_FALSE(clamp_extreme_exponents("1e00000000000000000001"));  // leading zeros: the value is 1e1
  CHECK(*clamp_extreme_exponents("1e12345678901") == "1e999999999");
}
