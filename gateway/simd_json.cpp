#include "gateway/simd_json.hpp"

#include <boost/json.hpp>

#include <exception>
#include <string>

namespace dg::gateway {

simdjson::error_code prepare_json_parser(simdjson::dom::parser& parser, std::size_t capacity) noexcept {
  return parser.allocate(capacity, kJsonMaxDepth);
}

simdjson::error_code parse_json(simdjson::dom::parser& parser, std::string_view text, bool padded,
                                simdjson::dom::element& out) noexcept {
  const auto error = parser.parse(text.data(), text.size(), !padded).get(out);
  if (error != simdjson::NUMBER_ERROR) return error;
  // Slow path for big integers (see the header). boost::json serializes a
  // double with the shortest text that reads back to the same double.
  try {
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(text, ec);
    if (ec) return error;
    const std::string again = boost::json::serialize(value);
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
