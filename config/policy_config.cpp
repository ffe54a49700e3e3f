#include "config/policy_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>

#include "detectors/policy_engine.hpp"

namespace dg::config {

namespace {

using detectors::Action;
using detectors::Policy;
using detectors::Rule;

bool is_fp(std::string_view v) {
  if (v.size() != 19 || v.substr(0, 3) != "fp:") return false;
  for (char c : v.substr(3))
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return true;
}

template <class T, class Pred>
T checked(YamlSection& s, std::string_view key, T fallback, Pred ok, std::string_view what) {
  const bool present = s.has(key);
  T v = s.get<T>(key, fallback);
  if (present && !ok(v)) {
    s.error(s.value_or_self(key), "'" + s.qualified(key) + "' " + std::string(what));
    return fallback;
  }
  return v;
}

double duration_or(YamlSection& s, std::string_view key, double fallback, bool allow_zero = false) {
  auto n = s.raw(key);
  if (!n) return fallback;
  double v = fallback;
  if (!s.recover([&] { v = parse_duration(s, *n, key); })) return fallback;
  if (v < 0 || (!allow_zero && v == 0)) {
    s.error(*n, "'" + s.qualified(key) + "' must be a positive duration");
    return fallback;
  }
  return v;
}

std::vector<std::string> fingerprint_list(YamlSection& s, std::string_view key) {
  auto n = s.raw(key);
  std::vector<std::string> out;
  if (!n) return out;
  if (!n->IsSequence()) s.fail(*n, "'" + s.qualified(key) + "' must be a list of key fingerprints");
  for (const auto& item : *n) {
    if (!item.IsScalar() || !is_fp(item.Scalar())) {
      s.error(item, "'" + s.qualified(key) + "' entries must be key fingerprints (fp: + 16 lowercase hex digits)");
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

detectors::ThrottleParams parse_throttle(YamlSection& s, detectors::ThrottleParams d) {
  auto pos = [](double v) { return v > 0 && std::isfinite(v); };
  d.requests_per_minute = checked<double>(s, "requests_per_minute", d.requests_per_minute, pos, "must be > 0");
  d.burst = checked<double>(s, "burst", d.burst, [](double v) { return v >= 1 && std::isfinite(v); }, "must be >= 1");
  s.finish();
  return d;
}

detectors::DegradeParams parse_degrade(YamlSection& s, detectors::DegradeParams d) {
  d.max_tokens = checked<std::int64_t>(s, "max_tokens", d.max_tokens, [](std::int64_t v) { return v >= 0; },
                                       "must be >= 0 (0 = no cap)");
  d.strip_logprobs = s.get<bool>("strip_logprobs", d.strip_logprobs);
  d.strip_logit_bias = s.get<bool>("strip_logit_bias", d.strip_logit_bias);
  d.force_single_choice = s.get<bool>("force_single_choice", d.force_single_choice);
  s.finish();
  return d;
}

Action parse_action(YamlSection& s, std::string_view key) {
  auto text = s.require<std::string>(key);
  auto a = detectors::action_from_string(text);
  if (!a || *a == Action::Allow)
    s.fail(s.value_or_self(key), "'" + s.qualified(key) + "' must be one of shadow, throttle, degrade, block; got '" +
                                text + "'");
  return *a;
}

/// The names a rule's `when.detectors` can test, from the engine itself.
const std::vector<std::string>& detector_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto n : detectors::rule_detector_names()) out.emplace_back(n);
    return out;
  }();
  return names;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Rule parse_rule(YamlSection& r, const Policy& p, std::set<std::string>& names) {
  Rule rule;
  rule.name = r.require<std::string>("name");
  if (rule.name.empty()) r.error(r.value_or_self("name"), "rule name must not be empty");
  else if (!names.insert(rule.name).second) r.error(r.value_or_self("name"), "duplicate rule name '" + rule.name + "'");

  auto when = r.child("when");
  if (!when) r.fail_missing("when", "rule '" + rule.name + "' needs a 'when' condition");
  auto unit = [](double v) { return v >= 0 && v <= 1; };
  if (when->has("risk")) rule.when.min_risk = checked<double>(*when, "risk", 0, unit, "must be in [0, 1]");
  bool named_detectors = false;  // an unknown name is its own error, not also "needs a condition"
  if (auto dets = when->child("detectors")) {
    named_detectors = dets->node().size() > 0;
    const auto& known = detector_names();
    for (const auto& kv : dets->node()) {
      const auto name = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        // A misspelled name would make the rule never match: an error, not a no-op.
        (void)dets->raw(name);
        const auto hint = did_you_mean(name, known);
        dets->error(kv.first, "unknown detector '" + name + "' in '" + dets->path() + "'" +
                                  (hint.empty() ? " (known: " + joined(known) + ")" : hint));
        continue;
      }
      rule.when.detectors.emplace_back(name, checked<double>(*dets, name, 0, unit, "must be in [0, 1]"));
    }
    dets->finish();
  }
  if (when->has("campaign")) rule.when.campaign = when->get<bool>("campaign", false);
  rule.when.min_requests = when->get<std::uint64_t>("min_requests", 0);
  when->finish();
  if (!rule.when.min_risk && !named_detectors && !rule.when.campaign)
    r.error(r.value_or_self("when"), "rule '" + rule.name + "': 'when' needs risk, detectors or campaign");

  if (auto scope = r.child("scope")) {
    rule.scope.tenants = scope->list<std::string>("tenants");
    if (auto groups = scope->raw("key_groups")) {
      if (!groups->IsSequence()) scope->fail(*groups, "'" + scope->qualified("key_groups") + "' must be a list");
      for (const auto& g : *groups) {
        if (!g.IsScalar() || p.key_groups.find(g.Scalar()) == p.key_groups.end()) {
          std::vector<std::string> groups_known;
          for (const auto& [name, fps] : p.key_groups) groups_known.push_back(name);
          const auto hint = g.IsScalar() ? did_you_mean(g.Scalar(), groups_known) : std::string();
          scope->error(g, "unknown key group '" + (g.IsScalar() ? g.Scalar() : std::string("?")) + "'" +
                              (hint.empty() ? " (define it under key_groups)" : hint));
          continue;
        }
        rule.scope.key_groups.push_back(g.Scalar());
      }
    }
    scope->finish();
  }

  rule.action = parse_action(r, "action");
  rule.shadow = r.get<bool>("shadow", false);
  rule.ttl_s = duration_or(r, "ttl", 0, true);
  rule.throttle = p.throttle;
  if (auto t = r.child("throttle")) rule.throttle = parse_throttle(*t, p.throttle);
  rule.degrade = p.degrade;
  if (auto d = r.child("degrade")) rule.degrade = parse_degrade(*d, p.degrade);
  rule.output_token_budget = r.get<std::uint64_t>("output_token_budget", 0);
  r.finish();
  return rule;
}

}  // namespace

double parse_duration(const YamlSection& section, const YAML::Node& node, std::string_view key) {
  const auto bad = [&]() -> double {
    section.fail(node, "'" + section.qualified(key) +
                           "' must be a duration: seconds, or a number with ms, s, m, h or d (e.g. 30s, 2h)");
  };
  if (!node.IsScalar()) return bad();
  const std::string& text = node.Scalar();
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return bad();
  }
  const std::string unit = text.substr(used);
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 0.001;
  else if (unit == "m") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else return bad();
  if (!std::isfinite(value)) return bad();
  return value * mult;
}

namespace {

Policy parse_policy_impl(YamlSection& s, bool require_rules) {
  Policy p;
  p.shadow = s.get<bool>("shadow", false);
  if (s.has("on_failure")) {
    auto mode = s.get<std::string>("on_failure", "open");
    if (mode == "open") p.fail_mode = detectors::FailMode::Open;
    else if (mode == "closed") p.fail_mode = detectors::FailMode::Closed;
    else s.error(s.value_or_self("on_failure"), "'" + s.qualified("on_failure") + "' must be open or closed, got '" + mode + "'");
  }
  // Each block recovers on its own: one bad block does not hide the next.
  s.recover([&] {
    for (auto& fp : fingerprint_list(s, "allowlist")) p.allowlist.insert(std::move(fp));
  });
  s.recover([&] {
    if (auto groups = s.child("key_groups")) {
      for (const auto& kv : groups->node()) {
        auto fps = fingerprint_list(*groups, kv.first.Scalar());
        p.key_groups[kv.first.Scalar()] = {fps.begin(), fps.end()};
      }
      groups->finish();
    }
  });
  s.recover([&] {
    if (auto d = s.child("defaults")) {
      p.default_ttl_s = duration_or(*d, "decision_ttl", p.default_ttl_s);
      p.operator_lift_grace_s = duration_or(*d, "operator_lift_grace", p.operator_lift_grace_s, true);
      d->finish();
    }
  });
  s.recover([&] {
    if (auto t = s.child("throttle")) p.throttle = parse_throttle(*t, p.throttle);
  });
  s.recover([&] {
    if (auto d = s.child("degrade")) p.degrade = parse_degrade(*d, p.degrade);
  });
  s.recover([&] {
    if (auto b = s.child("block")) {
      p.block.ttl_s = duration_or(*b, "ttl", p.block.ttl_s);
      p.block.growth_factor = checked<double>(*b, "growth_factor", p.block.growth_factor,
                                              [](double v) { return v >= 1 && std::isfinite(v); }, "must be >= 1");
      p.block.max_ttl_s = duration_or(*b, "max_ttl", p.block.max_ttl_s);
      if (p.block.max_ttl_s < p.block.ttl_s)
        b->error(b->value_or_self("max_ttl"), "'" + b->qualified("max_ttl") + "' must be >= ttl");
      b->finish();
    }
  });
  s.recover([&] {
    if (auto e = s.child("escalation")) {
      p.escalation.memory_s = duration_or(*e, "memory", p.escalation.memory_s, true);
      p.escalation.block_after_offenses = e->get<std::uint32_t>("block_after_offenses", 0);
      e->finish();
    }
  });
  s.recover([&] {
    if (auto ob = s.child("output_budget")) {
      p.output_budget.tokens = ob->get<std::uint64_t>("tokens", 0);
      p.output_budget.window_s = duration_or(*ob, "window", p.output_budget.window_s);
      ob->finish();
    }
  });
  const bool allow_empty = s.get<bool>("allow_empty", false);
  const YAML::Node rules_node = s.value_or_self("rules");
  const bool has_rules = s.has("rules");
  s.recover([&] {
    std::set<std::string> names;
    for (auto& r : s.list_of_sections("rules")) s.recover([&] { p.rules.push_back(parse_rule(r, p, names)); });
  });
  // An editor that truncates the file before writing it, or a rules list
  // deleted by mistake, must not silently stop all enforcement (#12.7).
  // Rules that failed to parse are reported as themselves.
  const bool rule_less = !has_rules || rules_node.IsNull() || (rules_node.IsSequence() && rules_node.size() == 0);
  YAML::Node at = s.node();  // `rules: []` at its value, a bare `rules:` at its key, none at the mapping
  for (const auto& kv : s.node())
    if (kv.first.Scalar() == "rules") at.reset(kv.second.IsNull() ? kv.first : kv.second);
  if (require_rules && rule_less && !allow_empty)
    s.error(at,
            (s.path().empty() ? std::string("the policy") : "'" + s.path() + "'") +
                " has no rules, so nothing would ever be enforced; add rules, or set 'allow_empty: true' to run"
                " without any");
  s.close();
  return p;
}

}  // namespace

Policy parse_policy(YamlSection& s) { return parse_policy_impl(s, false); }

PolicySource locate_policy(const std::string& config_path) { return locate_policy(load_yaml_file(config_path), config_path); }

PolicySource locate_policy(const YAML::Node& root, const std::string& config_path) {
  const YAML::Node node = root["policy"];
  if (!node || node.IsNull()) return {config_path, "policy"};
  if (!node.IsMap()) throw ConfigError(located(config_path, node, "'policy' must be a mapping"));
  if (node["file"]) {
    YamlSection s(node, config_path, "policy");
    auto file = s.require<std::string>("file");
    s.finish();  // `file` excludes inline settings
    std::filesystem::path p(file);
    if (p.is_relative()) p = std::filesystem::path(config_path).parent_path() / p;
    return {p.lexically_normal().string(), ""};
  }
  return {config_path, "policy"};
}

Policy parse_policy_node(const YAML::Node& root, const PolicySource& source) {
  // Pick the node at construction: YAML::Node's operator= assigns content
  // through the reference instead of rebinding.
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError(source.file + ":1:1: the " + std::string(source.section.empty() ? "policy " : "") +
                      "file is empty (no settings)" +
                      (source.section.empty() ? "; a policy without rules needs 'allow_empty: true'" : ""));
  const YAML::Node node = source.section.empty() ? root : root[source.section];
  if (!node.IsDefined()) return Policy{};  // no `policy:` section: nothing is actioned
  if (node.IsNull()) {
    // `policy:` with nothing under it: as rule-less as an empty file.
    const std::string message = "'" + source.section +
                                "' is empty, so nothing would ever be enforced; add rules, set 'allow_empty: true' "
                                "under it, or remove the section";
    for (const auto& kv : root)
      if (kv.first.Scalar() == source.section) throw ConfigError(located(source.file, kv.first, message));
    throw ConfigError(located(source.file, root, message));
  }
  YamlSection s(node, source.file, source.section);
  return parse_policy_impl(s, true);
}

Policy load_policy(const PolicySource& source) {
  const YAML::Node root = load_yaml_file(source.file);
  return parse_policy_node(root, source);
}

}  // namespace dg::config
