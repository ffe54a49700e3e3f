#include "gateway/observability/log_format.hpp"

#include <spdlog/details/log_msg.h>

#include <fmt/format.h>

namespace dg::gateway {

std::string log_ts_text(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  // Integer arithmetic: a double's {:.3f} of 1764691234.5675 may round either way.
  const auto whole = ms / 1000, frac = ms % 1000;
  return fmt::format("{}.{:03}", whole, frac < 0 ? -frac : frac);
}

void append_json_quoted(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line = "{\"ts\":" + log_ts_text(msg.time) + ",\"level\":";
  const auto level = spdlog::level::to_string_view(msg.level);
  append_json_quoted(std::string_view(level.data(), level.size()), line);
  line += ",\"msg\":";
  append_json_quoted(std::string_view(msg.payload.data(), msg.payload.size()), line);
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

}  // namespace dg::gateway
