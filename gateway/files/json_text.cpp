#include "gateway/files/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace dg::gateway {

namespace json = boost::json;

namespace {

void append_string(json::string_view s, std::string& out) { out += json::serialize(s); }

void append(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::int64: out += std::to_string(v.get_int64()); return;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); return;
    case json::kind::double_: append_json_number(v.get_double(), out); return;
    case json::kind::string: append_string(v.get_string(), out); return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append(item, out);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_string(kv.key(), out);
        out.push_back(':');
        append(kv.value(), out);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

void append_json_number(double d, std::string& out) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  const double mag = std::fabs(d);
  const bool plain = mag == 0 || (mag >= 1e-6 && mag < 1e21);
  // Shortest round-trip digits, in fixed notation when `plain` (so 1764691234.5,
  // 3, 0.25), in scientific notation otherwise.
  const auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed)
                               : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (ec != std::errc{}) {
    out += "null";
    return;
  }
  out.append(buf, end);
}

std::string to_json_text(const json::value& v) {
  std::string out;
  out.reserve(256);
  append(v, out);
  return out;
}

}  // namespace dg::gateway
