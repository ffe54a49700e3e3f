#include "gateway/enforce/degrade_rewrite.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

#include "gateway/traffic/json_object_members.hpp"

namespace dg::gateway {

namespace json = boost::json;

namespace {

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (key == n) return true;
  return false;
}

/// The number a raw JSON value states, or nullopt when it is not a number.
/// Out-of-range numbers (1e9999) read as infinities.
std::optional<double> number_of(std::string_view raw) {
  double v = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (end != raw.data() + raw.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves v alone on overflow and underflow alike; tell them apart.
    const auto e = raw.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < raw.size() && raw[e + 1] == '-';
    return tiny ? 0.0 : (raw.front() == '-' ? -INFINITY : INFINITY);
  }
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

/// `include` without the entries asking for logprobs; nullopt to drop it.
std::optional<std::string> include_without_logprobs(std::string_view raw) {
  boost::system::error_code ec;
  auto v = json::parse(raw, ec);
  if (ec || !v.is_array()) return std::nullopt;
  json::array kept;
  for (auto& item : v.get_array())
    if (!(item.is_string() && std::string_view(item.get_string()).find("logprobs") != std::string_view::npos))
      kept.push_back(item);
  return json::serialize(kept);
}

/// An Anthropic `thinking` member the capped max_tokens can still hold
/// (budget_tokens must stay below max_tokens), else nullopt: drop it.
bool thinking_fits(std::string_view raw, std::int64_t cap) {
  boost::system::error_code ec;
  auto v = json::parse(raw, ec);
  if (ec || !v.is_object()) return false;
  const auto* type = v.get_object().if_contains("type");
  if (type && type->is_string() && type->get_string() == "disabled") return true;
  const auto* budget = v.get_object().if_contains("budget_tokens");
  if (!budget || !budget->is_number()) return false;
  return budget->to_number<double>() < static_cast<double>(cap);
}

}  // namespace

std::optional<std::string> degrade_body(std::string_view path, std::string_view body,
                                        const detectors::DegradeParams& params) {
  auto members = split_object_members(body);
  if (!members) return std::nullopt;
  const bool messages = path.find("/messages") != std::string_view::npos;
  const bool capping = params.max_tokens > 0;
  const std::string cap = std::to_string(params.max_tokens);
  std::string out;
  out.reserve(body.size() + 32);
  out.push_back('{');
  bool first = true;
  auto emit = [&](std::string_view raw_key, std::string_view value) {
    if (!first) out.push_back(',');
    first = false;
    out.append(raw_key);
    out.push_back(':');
    out.append(value);
  };
  bool capped = false;
  std::string rewritten;
  for (const auto& m : *members) {
    const std::string_view key = m.key;
    if (params.strip_logprobs && is_one_of(key, {"logprobs", "top_logprobs"})) continue;
    if (params.strip_logit_bias && key == "logit_bias") continue;
    if (params.strip_logprobs && key == "include") {
      // Responses API: `include: ["message.output_text.logprobs"]` asks for them too.
      auto kept = include_without_logprobs(m.raw_value);
      if (kept) emit(m.raw_key, *kept);
      continue;
    }
    if (params.force_single_choice && is_one_of(key, {"n", "best_of"})) {
      emit(m.raw_key, "1");
      continue;
    }
    if (capping && is_one_of(key, {"max_tokens", "max_completion_tokens", "max_output_tokens"})) {
      capped = true;
      const auto asked = number_of(m.raw_value);
      const bool keep = asked && *asked > 0 && *asked <= static_cast<double>(params.max_tokens);
      emit(m.raw_key, keep ? m.raw_value : std::string_view(cap));
      continue;
    }
    if (capping && messages && key == "thinking" && !thinking_fits(m.raw_value, params.max_tokens)) continue;
    emit(m.raw_key, m.raw_value);
  }
  if (capping && !capped && path.find("/embeddings") == std::string_view::npos) {
    // Without a limit the upstream's own (large) default applies: add one.
    const bool responses = path.find("/responses") != std::string_view::npos;
    emit(responses ? "\"max_output_tokens\"" : "\"max_tokens\"", cap);
  }
  out.push_back('}');
  return out;
}

}  // namespace dg::gateway
