#include "sim/record.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdio>

namespace dg::sim {
namespace {

namespace json = boost::json;

void append_string(std::string_view s, std::string& out) { out += json::serialize(json::string(s)); }

std::uint64_t text_tokens_of(const json::value& v) {
  if (v.is_string()) return estimate_tokens(v.as_string());
  if (v.is_array()) {  // content parts
    std::uint64_t t = 0;
    for (const auto& part : v.as_array()) {
      if (part.is_object()) {
        if (const auto* text = part.as_object().if_contains("text")) t += text_tokens_of(*text);
        if (const auto* content = part.as_object().if_contains("content")) t += text_tokens_of(*content);
      } else {
        t += text_tokens_of(part);
      }
    }
    return t;
  }
  return 0;
}

}  // namespace

std::uint64_t estimate_tokens(std::string_view text) {
  if (text.empty()) return 0;
  // Multi-byte (CJK) characters are roughly one token each; count code points
  // above ASCII separately.
  std::uint64_t ascii = 0, wide = 0;
  for (unsigned char c : text) {
    if (c < 0x80) ++ascii;
    else if ((c & 0xC0) != 0x80) ++wide;
  }
  return std::max<std::uint64_t>(1, (ascii + 3) / 4 + wide);
}

std::uint64_t estimate_prompt_tokens(const json::object& body) {
  std::uint64_t t = 0;
  if (const auto* msgs = body.if_contains("messages"); msgs && msgs->is_array()) {
    for (const auto& m : msgs->as_array()) {
      if (!m.is_object()) continue;
      t += 4;
      if (const auto* c = m.as_object().if_contains("content")) t += text_tokens_of(*c);
      if (const auto* tc = m.as_object().if_contains("tool_calls")) t += estimate_tokens(json::serialize(*tc));
    }
    t += 3;
  }
  if (const auto* p = body.if_contains("prompt")) t += text_tokens_of(*p);
  // Responses API: `instructions` and `input` (a string or a list of items).
  if (const auto* s = body.if_contains("instructions")) t += text_tokens_of(*s);
  if (const auto* in = body.if_contains("input")) {
    if (in->is_string()) {
      t += text_tokens_of(*in) + 4;
    } else if (in->is_array()) {
      for (const auto& item : in->as_array()) {
        if (!item.is_object()) continue;
        t += 4;
        for (const char* field : {"content", "output", "arguments"})
          if (const auto* c = item.as_object().if_contains(field)) t += text_tokens_of(*c);
      }
    }
  }
  if (const auto* s = body.if_contains("system")) t += text_tokens_of(*s);
  if (const auto* tools = body.if_contains("tools")) t += estimate_tokens(json::serialize(*tools));
  return std::max<std::uint64_t>(t, 1);
}

void append_record_line(const SimRecord& r, std::string& out) {
  char ts[48];
  std::snprintf(ts, sizeof ts, "%.3f", r.ts);
  out += "{\"ts\":";
  out += ts;
  out += ",\"key\":";
  append_string(r.key, out);
  if (!r.client_ip.empty()) {
    out += ",\"client_ip\":";
    append_string(r.client_ip, out);
  }
  if (!r.user_agent.empty()) {
    out += ",\"user_agent\":";
    append_string(r.user_agent, out);
  }
  out += ",\"method\":\"POST\",\"path\":";
  append_string(r.path, out);
  out += ",\"request\":";
  out += json::serialize(r.request);
  out += ",\"response\":{\"status\":";
  out += std::to_string(r.status);
  out += ",\"prompt_tokens\":";
  out += std::to_string(r.prompt_tokens);
  out += ",\"completion_tokens\":";
  out += std::to_string(r.completion_tokens);
  char lat[48];
  std::snprintf(lat, sizeof lat, "%.0f", std::round(r.latency_ms));
  out += ",\"latency_ms\":";
  out += lat;
  out += "}}\n";
}

}  // namespace dg::sim
