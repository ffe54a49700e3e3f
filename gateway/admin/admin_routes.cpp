#include "gateway/admin/admin_routes.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <memory>

#include "gateway/admin/admin_body.hpp"
#include "gateway/decisions/decision_json.hpp"
#include "gateway/files/json_text.hpp"
#include "gateway/traffic/key_fingerprint.hpp"

namespace dg::gateway {

namespace json = boost::json;
namespace http = boost::beast::http;
using detectors::Action;
using detectors::Decision;

namespace {

constexpr double kMaxTtlS = 315360000;  // 10 years
constexpr double kMinRpm = 0.01;
constexpr double kMaxRpm = 1e6;
constexpr std::size_t kMaxReasonBytes = 1024;

AdminResponse ok_json(const json::value& v, int status = 200) {
  AdminResponse r;
  r.status = status;
  r.body = to_json_text(v);
  return r;
}

AdminResponse bad_request(std::string_view message, std::string_view param = {}) {
  return admin_bad_request(message, param);
}

AdminResponse not_found(std::string_view message) {
  return admin_error(404, message, "invalid_request_error", "not_found");
}

AdminResponse bad_fingerprint_path() {
  return bad_request("The path must end with a key fingerprint (fp: + 16 hex digits).", "key_fp");
}

double number_of(const json::value& v) { return v.to_number<double>(); }

/// A change the journal could not write is never acknowledged: an operator
/// who got 201/200 can rely on it surviving a restart (issue #12, fault
/// injection). It is in force in memory all the same (refusing to block an
/// attacker because the disk is full would be worse); the counter
/// dg_journal_failures_total says so, and a retry once the disk is fixed
/// persists it.
AdminResponse not_persisted() {
  auto res = admin_error(503,
                         "The decision is in force but the decision journal could not write it, so it would not "
                         "survive a restart. Fix the journal's disk, then send it again.",
                         "server_error", "journal_write_failed");
  res.headers.emplace_back("Retry-After", "5");
  return res;
}

json::object list_of(json::array data) {
  json::object o;
  o["object"] = "list";
  o["data"] = std::move(data);
  return o;
}

/// `all` of GET /v1/decisions: true | false | 1 | 0 (absent: false).
std::optional<bool> parse_flag(const std::map<std::string, std::string>& q, const std::string& name) {
  auto it = q.find(name);
  if (it == q.end() || it->second == "false" || it->second == "0") return false;
  if (it->second == "true" || it->second == "1" || it->second.empty()) return true;
  return std::nullopt;
}

}  // namespace

json::object assessment_to_json(const detectors::KeyAssessment& a) {
  json::object o;
  o["key_fp"] = a.key_fp;
  o["risk"] = a.risk;
  o["request_index"] = a.request_index;
  json::object scores;
  for (const auto& f : a.scores) scores[f.detector] = f.score;
  o["scores"] = std::move(scores);
  json::array findings;
  for (const auto& f : a.findings) {
    json::object fo;
    fo["detector"] = f.detector;
    fo["score"] = f.score;
    json::array ev;
    for (const auto& e : f.evidence) ev.emplace_back(e);
    fo["evidence"] = std::move(ev);
    findings.push_back(std::move(fo));
  }
  o["findings"] = std::move(findings);
  if (!a.campaign.empty()) o["campaign"] = a.campaign;
  return o;
}

void register_admin_routes(AdminServer& server, AdminContext context) {
  auto ctx = std::make_shared<AdminContext>(std::move(context));
  if (!ctx->clock)
    ctx->clock = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    };

  server.add_route(http::verb::get, "/healthz", [](const AdminRequest&) { return ok_json(json::object{{"status", "ok"}}); },
                   true);
  server.add_route(
      http::verb::get, "/readyz",
      [ctx](const AdminRequest&) {
        const bool ready = !ctx->ready || ctx->ready();
        return ok_json(json::object{{"status", ready ? "ready" : "not ready"}}, ready ? 200 : 503);
      },
      true);

  server.add_route(http::verb::get, "/v1/decisions", [ctx](const AdminRequest& req) {
    AdminResponse error;
    const auto query = parse_admin_query(req.query, {"all"}, error);
    if (!query) return error;
    const auto all = parse_flag(*query, "all");
    if (!all) return bad_request("Query parameter 'all' must be true or false.", "all");
    const double now = ctx->clock();
    const auto decisions = *all ? ctx->store->table().all() : ctx->store->table().active_all(now);
    json::array data;
    for (const auto& d : decisions) {
      auto o = decision_to_json(d);
      o["active"] = d.active(now);
      data.push_back(std::move(o));
    }
    return ok_json(list_of(std::move(data)));
  });

  server.add_route(http::verb::get, "/v1/decisions/{key_fp}", [ctx](const AdminRequest& req) {
    if (!is_fingerprint(req.tail)) return bad_fingerprint_path();
    auto d = ctx->store->table().latest(req.tail);
    if (!d) return not_found("No decision for " + req.tail + ".");
    auto o = decision_to_json(*d);
    o["active"] = d->active(ctx->clock());
    return ok_json(o);
  });

  server.add_route(http::verb::post, "/v1/decisions", [ctx](const AdminRequest& req) {
    AdminResponse error;
    const auto body = parse_admin_body(req.body,
                                       {{"key_fp", FieldType::String},
                                        {"action", FieldType::String},
                                        {"reason", FieldType::String},
                                        {"ttl_s", FieldType::Number},
                                        {"requests_per_minute", FieldType::Number}},
                                       false, error);
    if (!body) return error;
    const auto& o = *body;
    auto str = [&](std::string_view k) -> std::string {
      auto* f = o.if_contains(k);
      return f ? std::string(f->get_string()) : std::string();
    };
    const auto fp = str("key_fp");
    if (!is_fingerprint(fp)) return bad_request("'key_fp' must be a key fingerprint (fp: + 16 hex digits).", "key_fp");
    const auto action = detectors::action_from_string(str("action"));
    if (!action) return bad_request("'action' must be one of allow, shadow, throttle, degrade, block.", "action");
    const auto reason = str("reason");
    if (reason.empty()) return bad_request("'reason' is required.", "reason");
    if (reason.size() > kMaxReasonBytes)
      return bad_request("'reason' is longer than " + std::to_string(kMaxReasonBytes) + " bytes.", "reason");
    std::optional<double> ttl;
    if (auto* t = o.if_contains("ttl_s")) {
      ttl = number_of(*t);
      if (*ttl < 0 || *ttl > kMaxTtlS)
        return bad_request("'ttl_s' must be between 0 and " + std::to_string(static_cast<long long>(kMaxTtlS)) +
                               " seconds (10 years; 0 = never expires).",
                           "ttl_s");
    }
    std::optional<double> rpm;
    if (auto* r = o.if_contains("requests_per_minute")) {
      if (*action != Action::Throttle)
        return bad_request("'requests_per_minute' applies only to action 'throttle'.", "requests_per_minute");
      rpm = number_of(*r);
      if (!(*rpm >= kMinRpm && *rpm <= kMaxRpm))
        return bad_request("'requests_per_minute' must be between 0.01 and 1000000.", "requests_per_minute");
    }
    const double now = ctx->clock();
    const auto policy = ctx->policy->policy();
    auto d = detectors::PolicyEngine::operator_decision(*policy, fp, *action, reason, now, ttl);
    if (rpm) d.throttle_rpm = *rpm;
    if (auto prev = ctx->store->table().latest(fp); prev && *action != Action::Allow) {
      d.offense_count = prev->offense_count + 1;
      d.block_count = prev->block_count + (*action == Action::Block ? 1 : 0);
    }
    const bool persisted = ctx->store->apply(d, "operator", now);
    if (!persisted) return not_persisted();
    auto out = decision_to_json(d);
    out["persisted"] = persisted;
    return ok_json(out, 201);
  });

  server.add_route(http::verb::delete_, "/v1/decisions/{key_fp}", [ctx](const AdminRequest& req) {
    const std::string fp = req.tail;
    if (!is_fingerprint(fp)) return bad_fingerprint_path();
    AdminResponse error;
    const auto body = parse_admin_body(req.body, {{"reason", FieldType::String}}, true, error);
    if (!body) return error;
    std::string reason = "lifted by operator";
    if (auto* r = body->if_contains("reason"); r && !r->get_string().empty()) reason = std::string(r->get_string());
    if (reason.size() > kMaxReasonBytes)
      return bad_request("'reason' is longer than " + std::to_string(kMaxReasonBytes) + " bytes.", "reason");
    const double now = ctx->clock();
    // Lift only what is in force: an `allow` written for a key with nothing
    // to lift would hide it from detection for the whole grace period.
    const auto current = ctx->store->table().active(fp, now);
    if (!current || current->action == Action::Allow) return not_found("No active decision to lift for " + fp + ".");
    const auto policy = ctx->policy->policy();
    auto d = detectors::PolicyEngine::operator_decision(*policy, fp, Action::Allow, reason, now);
    const bool persisted = ctx->store->apply(d, "operator", now);
    if (!persisted) return not_persisted();
    auto out = decision_to_json(d);
    out["persisted"] = persisted;
    out["lifted_action"] = detectors::to_string(current->action);
    return ok_json(out);
  });

  server.add_route(http::verb::get, "/v1/keys/{key_fp}", [ctx](const AdminRequest& req) {
    const std::string fp = req.tail;
    if (!is_fingerprint(fp)) return bad_fingerprint_path();
    const double now = ctx->clock();
    json::object o;
    o["key_fp"] = fp;
    o["allowlisted"] = ctx->policy->policy()->allowlisted(fp);
    if (ctx->detection) o["assessment"] = assessment_to_json(ctx->detection->peek(fp, now));
    else o["assessment"] = nullptr;
    if (auto d = ctx->store->table().latest(fp)) {
      auto dj = decision_to_json(*d);
      dj["active"] = d->active(now);
      o["decision"] = std::move(dj);
    } else {
      o["decision"] = nullptr;
    }
    return ok_json(o);
  });

  server.add_route(http::verb::get, "/v1/campaigns", [ctx](const AdminRequest&) {
    if (ctx->campaigns) {
      auto v = ctx->campaigns();
      if (v.is_array()) return ok_json(list_of(std::move(v.get_array())));
      return ok_json(v);
    }
    return ok_json(list_of({}));
  });

  server.add_route(http::verb::get, "/v1/policy", [ctx](const AdminRequest&) {
    const auto p = ctx->policy->policy();
    json::object o;
    o["version"] = p->version;
    o["loaded_at"] = p->loaded_at;
    o["source"] = p->source;
    o["shadow"] = p->shadow;
    o["fail_mode"] = p->fail_mode == detectors::FailMode::Open ? "open" : "closed";
    o["rules"] = p->rules.size();
    json::array names;
    for (const auto& r : p->rules) names.emplace_back(r.name);
    o["rule_names"] = std::move(names);
    if (ctx->reloader) {
      o["reloads_ok"] = ctx->reloader->reloads_ok();
      o["reloads_failed"] = ctx->reloader->reloads_failed();
      const auto err = ctx->reloader->last_error();
      if (!err.empty()) o["last_error"] = err;
    }
    return ok_json(o);
  });

  server.add_route(http::verb::post, "/v1/policy/reload", [ctx](const AdminRequest&) {
    if (!ctx->reloader)
      return admin_error(501, "Policy reload is not configured.", "server_error", "not_configured");
    auto r = ctx->reloader->reload(ctx->clock(), true);
    if (!r.ok) {
      auto res = admin_error(422, r.error, "invalid_request_error", "invalid_policy");
      return res;
    }
    return ok_json(json::object{{"ok", true}, {"version", r.version}});
  });
}

}  // namespace dg::gateway
