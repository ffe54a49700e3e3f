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

std::optional<std::string> clamp_extreme_exponents(std::string_view text) {
  constexpr std::size_t kMaxExponentDigits = 9;
  std::optional<std::string> out;
  std::size_t copied = 0;  // text[0, copied) is in *out already
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    // Outside strings an e/E after a digit or '.' starts an exponent (the
    // literals true/false/null have none after a digit).
    if ((c != 'e' && c != 'E') || i == 0 || !((text[i - 1] >= '0' && text[i - 1] <= '9') || text[i - 1] == '.')) continue;
    std::size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    std::size_t first = j;
    while (first < text.size() && text[first] == '0') ++first;
    std::size_t end = first;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end - first > kMaxExponentDigits) {
      if (!out) out.emplace().reserve(text.size());
      out->append(text.substr(copied, first - copied));
      out->append(kMaxExponentDigits, '9');
      copied = end;
    }
    i = end - 1;
  }
  if (out) out->append(text.substr(copied));
  return out;
}

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
    const auto clamped = clamp_extreme_exponents(text);
    const boost::json::value value = boost::json::parse(clamped ? *clamped : text, ec, {}, options);
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
