#include "gateway/alerts/alert.hpp"

#include <boost/json.hpp>
#include <openssl/rand.h>

#include <cstdio>
#include <random>

namespace dg::gateway {

namespace json = boost::json;

namespace {

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

json::object finding_json(const detectors::Finding& f) {
  json::array ev;
  for (const auto& e : f.evidence) ev.emplace_back(e);
  return {{"detector", f.detector}, {"score", f.score}, {"evidence", std::move(ev)}};
}

json::object request_json(const AlertRequest& r) {
  json::object o{{"ts", r.ts},
                 {"endpoint", detectors::to_string(r.endpoint)},
                 {"model", r.model},
                 {"template_signature", hex16(r.template_signature)},
                 {"n", r.n},
                 {"stream", r.stream},
                 {"logprobs", r.logprobs},
                 {"top_logprobs", r.top_logprobs},
                 {"logit_bias_size", r.logit_bias_size},
                 {"asks_reasoning_for_answer", r.asks_reasoning_for_answer},
                 {"prompt_chars", r.prompt_chars},
                 {"status", r.status},
                 {"prompt_tokens", r.prompt_tokens},
                 {"completion_tokens", r.completion_tokens}};
  o["system_prompt_hash"] = r.system_prompt_hash == 0 ? json::value(nullptr) : json::value(hex16(r.system_prompt_hash));
  o["max_tokens"] = r.max_tokens ? json::value(*r.max_tokens) : json::value(nullptr);
  o["temperature"] = r.temperature ? json::value(*r.temperature) : json::value(nullptr);
  o["top_p"] = r.top_p ? json::value(*r.top_p) : json::value(nullptr);
  o["reasoning_effort"] = r.reasoning_effort.empty() ? json::value(nullptr) : json::value(r.reasoning_effort);
  o["client_ip"] = r.client_ip;
  o["user_agent"] = r.user_agent;
  return o;
}

std::string short_fp(const std::string& fp) { return fp.empty() ? "(no key)" : fp; }

const detectors::Finding* top_finding(const Alert& a) {
  const detectors::Finding* best = nullptr;
  for (const auto& f : a.findings)
    if (!best || f.score > best->score) best = &f;
  return best;
}

}  // namespace

std::string_view to_string(AlertEvent e) noexcept {
  switch (e) {
    case AlertEvent::DecisionCreated: return "decision_created";
    case AlertEvent::DecisionEscalated: return "decision_escalated";
    case AlertEvent::DecisionLifted: return "decision_lifted";
    case AlertEvent::CampaignDetected: return "campaign_detected";
  }
  return "unknown";
}

AlertRequest alert_request_from(const detectors::Exchange& ex) {
  AlertRequest r;
  const auto& q = ex.request;
  r.ts = ex.ts;
  r.endpoint = q.endpoint;
  r.model = q.model;
  r.template_signature = q.prompt.template_signature;
  r.system_prompt_hash = q.prompt.system_prompt_hash;
  r.max_tokens = q.max_tokens;
  r.n = q.n;
  r.temperature = q.temperature;
  r.top_p = q.top_p;
  r.stream = q.stream;
  r.logprobs = q.logprobs;
  r.top_logprobs = q.top_logprobs;
  r.logit_bias_size = q.logit_bias_size;
  r.reasoning_effort = q.reasoning_effort;
  r.asks_reasoning_for_answer = q.prompt.asks_reasoning_for_answer;
  r.prompt_chars = static_cast<std::uint32_t>(std::min<std::uint64_t>(q.prompt_chars, UINT32_MAX));
  r.status = ex.response.status;
  r.prompt_tokens = ex.response.prompt_tokens;
  r.completion_tokens = ex.response.completion_tokens;
  r.client_ip = ex.client_ip;
  r.user_agent = ex.user_agent;
  return r;
}

std::string new_alert_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::string alert_to_json(const Alert& a) {
  json::object o{{"schema", "distillguard.alert.v1"},
                 {"id", a.id},
                 {"event", to_string(a.event)},
                 {"ts", a.ts},
                 {"risk", a.risk},
                 {"grouped_count", a.grouped_count},
                 {"summary", alert_summary(a)}};
  o["key_fp"] = a.key_fp.empty() ? json::value(nullptr) : json::value(a.key_fp);
  o["campaign"] = a.campaign.empty() ? json::value(nullptr) : json::value(a.campaign);
  json::array keys;
  for (const auto& k : a.campaign_keys) keys.emplace_back(k);
  o["campaign_keys"] = std::move(keys);
  if (a.decision) {
    const auto& d = *a.decision;
    json::object dj{{"action", d.action},     {"reason", d.reason}, {"origin", d.origin},
                    {"shadow", d.shadow},     {"created", d.created}};
    dj["previous_action"] = d.previous_action.empty() ? json::value(nullptr) : json::value(d.previous_action);
    dj["expires"] = d.expires > 0 ? json::value(d.expires) : json::value(nullptr);
    o["decision"] = std::move(dj);
  } else {
    o["decision"] = nullptr;
  }
  json::array findings;
  for (const auto& f : a.findings) findings.emplace_back(finding_json(f));
  o["findings"] = std::move(findings);
  json::array reqs;
  for (const auto& r : a.requests) reqs.emplace_back(request_json(r));
  o["requests"] = std::move(reqs);
  return json::serialize(o);
}

std::string alert_summary(const Alert& a) {
  std::string s;
  switch (a.event) {
    case AlertEvent::DecisionCreated:
      if (a.decision && a.decision->shadow) {
        // "shadow:block" -> "shadow (would block)"; a plain shadow rule -> "shadow".
        const auto& action = a.decision->action;
        s = action.starts_with("shadow:") ? "shadow (would " + action.substr(7) + ")" : std::string("shadow");
      } else {
        s = a.decision ? a.decision->action : std::string("decision");
      }
      s += " " + short_fp(a.key_fp);
      break;
    case AlertEvent::DecisionEscalated:
      s = "escalated " + short_fp(a.key_fp) +
          (a.decision ? " " + a.decision->previous_action + " -> " + a.decision->action : std::string());
      break;
    case AlertEvent::DecisionLifted:
      s = "lifted " + (a.decision ? a.decision->previous_action + " " : std::string()) + "on " + short_fp(a.key_fp);
      break;
    case AlertEvent::CampaignDetected:
      s = "campaign " + a.campaign + " (" + std::to_string(a.campaign_keys.size()) + " keys)";
      break;
  }
  if (!a.campaign.empty() && a.event != AlertEvent::CampaignDetected) s += " [campaign " + a.campaign + "]";
  if (const auto* f = top_finding(a)) {
    char score[16];
    std::snprintf(score, sizeof score, "%.2f", f->score);
    s += " (" + f->detector + " " + score + ")";
    if (!f->evidence.empty()) s += ": " + f->evidence.front();
  } else if (a.decision && !a.decision->reason.empty()) {
    s += ": " + a.decision->reason;
  }
  return s;
}

std::string alert_to_slack(const Alert& a) {
  std::string title = ":rotating_light: DistillGuard " + std::string(to_string(a.event));
  json::array blocks;
  blocks.emplace_back(json::object{{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", title}}}});
  blocks.emplace_back(
      json::object{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", alert_summary(a)}}}});
  json::array fields;
  auto field = [&](const std::string& name, const std::string& value) {
    fields.emplace_back(json::object{{"type", "mrkdwn"}, {"text", "*" + name + "*\n" + value}});
  };
  if (!a.key_fp.empty()) field("Key", "`" + a.key_fp + "`");
  if (a.decision) {
    field("Action", a.decision->action + (a.decision->shadow ? " (shadow)" : ""));
    if (!a.decision->reason.empty()) field("Reason", a.decision->reason);
  }
  if (!a.campaign.empty()) field("Campaign", a.campaign + " (" + std::to_string(a.campaign_keys.size()) + " keys)");
  char risk[16];
  std::snprintf(risk, sizeof risk, "%.2f", a.risk);
  field("Risk", risk);
  if (a.grouped_count) field("Grouped", std::to_string(a.grouped_count) + " similar alerts suppressed");
  blocks.emplace_back(json::object{{"type", "section"}, {"fields", std::move(fields)}});
  std::string evidence;
  for (const auto& f : a.findings) {
    char score[16];
    std::snprintf(score, sizeof score, "%.2f", f.score);
    evidence += "• *" + f.detector + "* " + score;
    for (const auto& e : f.evidence) evidence += "\n    " + e;
    evidence += "\n";
  }
  if (!evidence.empty())
    blocks.emplace_back(json::object{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", evidence}}}});
  blocks.emplace_back(json::object{
      {"type", "context"},
      {"elements", json::array{json::object{{"type", "mrkdwn"},
                                            {"text", "alert " + a.id + " · " + std::to_string(a.requests.size()) +
                                                         " request(s) attached in the webhook payload"}}}}});
  json::object o{{"text", "DistillGuard: " + alert_summary(a)}, {"blocks", std::move(blocks)}};
  return json::serialize(o);
}

}  // namespace dg::gateway
