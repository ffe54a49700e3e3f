#include "gateway/enforce/degrade_rewrite.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace dg::gateway {

namespace json = boost::json;

std::optional<std::string> degrade_body(std::string_view path, std::string_view body,
                                        const detectors::DegradeParams& params) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.get_object();
  if (params.strip_logprobs) {
    o.erase("logprobs");
    o.erase("top_logprobs");
    // Responses API: `include: ["message.output_text.logprobs"]` asks for them too.
    if (auto* inc = o.if_contains("include"); inc && inc->is_array()) {
      auto& arr = inc->get_array();
      for (auto it = arr.begin(); it != arr.end();) {
        if (it->is_string() && std::string_view(it->get_string()).find("logprobs") != std::string_view::npos)
          it = arr.erase(it);
        else
          ++it;
      }
    }
  }
  if (params.strip_logit_bias) o.erase("logit_bias");
  if (params.force_single_choice && o.contains("n")) o["n"] = 1;
  if (params.max_tokens > 0) {
    bool capped = false;
    for (const char* field : {"max_tokens", "max_completion_tokens", "max_output_tokens"}) {
      auto* f = o.if_contains(field);
      if (!f) continue;
      capped = true;
      std::int64_t current = params.max_tokens + 1;
      if (auto i = f->if_int64()) current = *i;
      else if (auto u = f->if_uint64()) current = static_cast<std::int64_t>(std::min<std::uint64_t>(*u, INT64_MAX));
      else if (auto d = f->if_double()) current = static_cast<std::int64_t>(*d);
      if (current > params.max_tokens || current <= 0) *f = params.max_tokens;
    }
    if (!capped) {
      // Without a limit the upstream's own (large) default applies: add one.
      const bool responses = path.find("/responses") != std::string_view::npos;
      if (path.find("/embeddings") == std::string_view::npos)
        o[responses ? "max_output_tokens" : "max_tokens"] = params.max_tokens;
    }
  }
  return json::serialize(v);
}

}  // namespace dg::gateway
