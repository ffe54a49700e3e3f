#include "gateway/traffic/simd_json.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <exception>
#include <string>

namespace dg::gateway {

simdjson::error_code prepare_json_parser(simdjson::dom::parser& parser, std::size_t capacity) noexcept {
  return parser.allocate(capacity, kJsonMaxDepth);
}

namespace {

/// boost::json's text of `v`, except that infinities (boost::json reads
/// 1e400 as one; simdjson has no such number) are written as the strings
/// "Infinity" / "-Infinity". The depth is bounded by the parse (kJsonMaxDepth).
void write_json(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out += boost::json::serialize(boost::json::string_view(kv.key()));
        out.push_back(':');
        write_json(kv.value(), out);
      }
      out.push_back('}');
      return;
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_json(item, out);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::double_:
      if (!std::isfinite(v.get_double())) {
        out += v.get_double() > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        return;
      }
      break;
    default: break;
  }
  out += boost::json::serialize(v);
}

}  // namespace

simdjson::error_code parse_json(simdjson::dom::parser& parser, std::string_view text, bool padded,
                                simdjson::dom::element& out) noexcept {
  const auto error = parser.parse(text.data(), text.size(), !padded).get(out);
  if (error != simdjson::NUMBER_ERROR) return error;
  // Slow path for numbers out of simdjson's range (see the header).
  // boost::json writes a double with the shortest text that reads back to
  // the same double, so the values are those boost::json read.
  try {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = kJsonMaxDepth - 1;
    const boost::json::value value = boost::json::parse(text, ec, {}, options);
    if (ec) return error;
    std::string again;
    again.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    write_json(value, again);
    if (parser.parse(again).get(out) != simdjson::SUCCESS) return error;
    return simdjson::SUCCESS;
  } catch (const std::exception&) {  // bad_alloc: report the original error
    return error;
  }
}

std::size_t array_size(simdjson::dom::array a) noexcept {
  const std::size_t n = a.size();
  if (n < 0xFFFFFF) return n;
  std::size_t count = 0;
  for ([[maybe_unused]] auto item : a) ++count;
  return count;
}

}  // namespace dg::gateway
