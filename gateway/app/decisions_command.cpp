// `distillguard decisions`: the operator's command line over the admin API
// (as `cscli decisions` is over CrowdSec's): list, add, lift, show, campaigns.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "gateway/app/admin_client.hpp"
#include "gateway/app/commands.hpp"
#include "gateway/files/json_text.hpp"
#include "gateway/traffic/key_fingerprint.hpp"

namespace dg::gateway {

namespace json = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: distillguard decisions COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  list [--all]                       decisions in force (--all: remembered ones too)\n"
    "  add KEY --action block|throttle|degrade|shadow [--ttl 1h] [--rpm N] [--reason TEXT]\n"
    "                                     an operator decision (--ttl 0: never expires;\n"
    "                                     --rpm: throttle only)\n"
    "  lift KEY [--reason TEXT]           end the decision in force\n"
    "  show KEY                           the key's assessment, evidence and decision\n"
    "  campaigns                          linked key groups\n"
    "\n"
    "KEY is a fingerprint (fp: + 16 hex digits) or the API key itself ('-' reads it\n"
    "from stdin), fingerprinted with identity.fingerprint_salt of --config.\n"
    "\n"
    "options:\n"
    "  --url URL          admin API (default: the admin listener of --config, else\n"
    "                     http://127.0.0.1:9090)\n"
    "  --config FILE      the proxy's config (admin address and fingerprint salt)\n"
    "  --token-file FILE  admin token (default: the DG_ADMIN_TOKEN environment variable)\n"
    "  --json             print the API's JSON instead of a table\n"
    "  --timeout SECONDS  per request (default 10)\n"
    "\n"
    "exit status: 0 ok, 1 the API refused or could not be reached, 2 bad usage\n";

struct Options {
  std::string command;
  std::vector<std::string> positional;
  std::string url, config, token_file, action, ttl, rpm, reason;
  bool json = false, all = false;
  double timeout_s = 10;
};

int usage_error(const std::string& message) {
  std::cerr << "distillguard decisions: " << message << "\n\n" << kUsage;
  return 2;
}

int fail(const std::string& message) {
  std::cerr << "distillguard decisions: " << message << "\n";
  return 1;
}

/// "90", "90s", "15m", "1h", "2d", "1h30m"; 0 = never. nullopt when invalid.
std::optional<double> parse_duration(const std::string& text) {
  if (text == "0" || text == "never") return 0.0;
  double total = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text.substr(i), &used);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used == 0 || v < 0 || !std::isfinite(v)) return std::nullopt;
    i += used;
    double unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return std::nullopt;
      }
      ++i;
    } else if (any) {
      return std::nullopt;  // "1h30": a bare number only alone
    }
    total += v * unit;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

std::string now_relative(double unix_s) {
  if (unix_s == 0) return "never";
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double d = unix_s - now;
  const bool past = d < 0;
  if (past) d = -d;
  std::ostringstream o;
  const auto s = static_cast<long long>(d);
  if (s >= 86400) o << s / 86400 << "d" << (s % 86400) / 3600 << "h";
  else if (s >= 3600) o << s / 3600 << "h" << (s % 3600) / 60 << "m";
  else if (s >= 60) o << s / 60 << "m" << s % 60 << "s";
  else o << s << "s";
  return past ? o.str() + " ago" : "in " + o.str();
}

std::string text_of(const json::value* v) {
  if (!v) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_null()) return "";
  return to_json_text(*v);
}

double number_of(const json::value* v) {
  if (!v) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return 0;
}

/// Columns padded to their widest cell; the last one is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string decision_summary(const json::object& d) {
  std::string s = text_of(d.if_contains("action"));
  if (auto* rpm = d.if_contains("throttle_rpm"); rpm && s == "throttle") s += " " + to_json_text(*rpm) + " rpm";
  s += ", " + text_of(d.if_contains("origin"));
  s += ", expires " + now_relative(number_of(d.if_contains("expires")));
  if (auto* r = d.if_contains("rule"); r && !text_of(r).empty()) s += ", rule " + text_of(r);
  if (auto* r = d.if_contains("reason"); r && !text_of(r).empty()) s += ": " + text_of(r);
  return s;
}

/// The message of an OpenAI-shaped error body, or the body itself.
std::string api_error(const AdminCall& call) {
  boost::system::error_code ec;
  const auto v = json::parse(call.body, ec);
  std::string message = call.body;
  if (!ec && v.is_object())
    if (auto* e = v.get_object().if_contains("error"); e && e->is_object()) {
      message = text_of(e->get_object().if_contains("message"));
      if (auto* p = e->get_object().if_contains("param"); p && p->is_string())
        message += " (field '" + std::string(p->get_string()) + "')";
    }
  return "HTTP " + std::to_string(call.status) + ": " + message;
}

struct Session {
  AdminUrl url;
  std::string token;
  std::string salt;
  bool have_config = false;
  std::chrono::milliseconds timeout{10000};

  /// Calls the API; on a transport or HTTP error prints it and returns nullopt.
  std::optional<json::value> call(const std::string& method, const std::string& target, const std::string& body,
                                  std::string* raw = nullptr) const {
    const auto r = admin_call(url, method, target, token, body, timeout);
    if (r.status == 0) {
      fail(r.error + " (admin API at http://" + url.host + ":" + std::to_string(url.port) + url.prefix + ")");
      return std::nullopt;
    }
    if (r.status < 200 || r.status >= 300) {
      fail(api_error(r));
      return std::nullopt;
    }
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec) {
      fail("the admin API answered " + std::to_string(r.status) + " with a body that is not JSON");
      return std::nullopt;
    }
    if (raw) *raw = r.body;
    return v;
  }

  /// A fingerprint from what the operator typed.
  std::optional<std::string> fingerprint(std::string key) const {
    if (key == "-") {
      if (!std::getline(std::cin, key)) return std::nullopt;
      while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    }
    if (key.empty()) return std::nullopt;
    if (is_fingerprint(key)) return key;
    if (!have_config)
      std::cerr << "distillguard decisions: note: fingerprinting the key without a salt (no --config); "
                   "pass --config if identity.fingerprint_salt is set\n";
    return key_fingerprint(key, salt);
  }
};

std::string read_token_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read --token-file " + path;
    return {};
  }
  std::stringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.empty()) error = "--token-file " + path + " is empty";
  return token;
}

int print_json(const std::string& raw) {
  std::cout << raw << (raw.ends_with("\n") ? "" : "\n");
  return 0;
}

int cmd_list(const Session& s, const Options& o) {
  std::string raw;
  const auto v = s.call("GET", o.all ? "/v1/decisions?all=true" : "/v1/decisions", "", &raw);
  if (!v) return 1;
  if (o.json) return print_json(raw);
  const auto* data = v->is_object() ? v->get_object().if_contains("data") : nullptr;
  if (!data || !data->is_array()) return fail("unexpected answer from the admin API: no 'data' list");
  if (data->get_array().empty()) {
    std::cout << (o.all ? "No decisions.\n" : "No decisions in force.\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"KEY", "ACTION", "ORIGIN", "EXPIRES", "RULE", "REASON"}};
  for (const auto& item : data->get_array()) {
    if (!item.is_object()) continue;
    const auto& d = item.get_object();
    std::string action = text_of(d.if_contains("action"));
    if (auto* active = d.if_contains("active"); active && active->is_bool() && !active->get_bool()) action += " (expired)";
    rows.push_back({text_of(d.if_contains("key_fp")), action, text_of(d.if_contains("origin")),
                    now_relative(number_of(d.if_contains("expires"))), text_of(d.if_contains("rule")),
                    text_of(d.if_contains("reason"))});
  }
  print_table(rows);
  return 0;
}

int cmd_add(const Session& s, const Options& o) {
  if (o.positional.size() != 1) return usage_error("add takes one KEY");
  if (o.action.empty()) return usage_error("add needs --action block|throttle|degrade|shadow");
  static const std::vector<std::string> kActions = {"block", "throttle", "degrade", "shadow", "allow"};
  if (std::find(kActions.begin(), kActions.end(), o.action) == kActions.end())
    return usage_error("--action must be block, throttle, degrade or shadow (not '" + o.action + "')");
  const auto fp = s.fingerprint(o.positional[0]);
  if (!fp) return usage_error("no key given");
  json::object body{{"key_fp", *fp}, {"action", o.action},
                    {"reason", o.reason.empty() ? std::string("added with distillguard decisions") : o.reason}};
  if (!o.ttl.empty()) {
    const auto ttl = parse_duration(o.ttl);
    if (!ttl) return usage_error("--ttl must be a duration such as 90s, 15m, 1h, 2d or 0 (never), not '" + o.ttl + "'");
    body["ttl_s"] = *ttl;
  }
  if (!o.rpm.empty()) {
    char* end = nullptr;
    const double rpm = std::strtod(o.rpm.c_str(), &end);
    if (end == o.rpm.c_str() || *end != '\0') return usage_error("--rpm must be a number, not '" + o.rpm + "'");
    body["requests_per_minute"] = rpm;  // ranges are the API's to check
  }
  std::string raw;
  const auto v = s.call("POST", "/v1/decisions", to_json_text(body), &raw);
  if (!v) return 1;
  if (o.json) return print_json(raw);
  std::cout << *fp << ": " << decision_summary(v->as_object()) << "\n";
  if (auto* p = v->as_object().if_contains("persisted"); p && p->is_bool() && !p->get_bool())
    std::cerr << "distillguard decisions: warning: the proxy could not write its decision journal; "
                 "this decision holds until it restarts\n";
  return 0;
}

int cmd_lift(const Session& s, const Options& o) {
  if (o.positional.size() != 1) return usage_error("lift takes one KEY");
  const auto fp = s.fingerprint(o.positional[0]);
  if (!fp) return usage_error("no key given");
  const std::string body = o.reason.empty() ? std::string() : to_json_text(json::object{{"reason", o.reason}});
  std::string raw;
  const auto v = s.call("DELETE", "/v1/decisions/" + *fp, body, &raw);
  if (!v) return 1;
  if (o.json) return print_json(raw);
  std::cout << *fp << ": lifted " << text_of(v->as_object().if_contains("lifted_action"))
            << "; detection leaves the key alone, grace period ends "
            << now_relative(number_of(v->as_object().if_contains("expires"))) << "\n";
  return 0;
}

int cmd_show(const Session& s, const Options& o) {
  if (o.positional.size() != 1) return usage_error("show takes one KEY");
  const auto fp = s.fingerprint(o.positional[0]);
  if (!fp) return usage_error("no key given");
  std::string raw;
  const auto v = s.call("GET", "/v1/keys/" + *fp, "", &raw);
  if (!v) return 1;
  if (o.json) return print_json(raw);
  const auto& k = v->as_object();
  std::cout << "key:         " << *fp << "\n";
  if (auto* a = k.if_contains("allowlisted"); a && a->is_bool() && a->get_bool()) std::cout << "allowlisted: yes\n";
  const auto* d = k.if_contains("decision");
  std::cout << "decision:    " << (d && d->is_object() ? decision_summary(d->get_object()) : std::string("none")) << "\n";
  const auto* a = k.if_contains("assessment");
  if (!a || !a->is_object()) {
    std::cout << "assessment:  none (detection is not running)\n";
    return 0;
  }
  const auto& as = a->get_object();
  std::cout << "risk:        " << text_of(as.if_contains("risk")) << " after " << text_of(as.if_contains("request_index"))
            << " requests\n";
  if (auto* c = as.if_contains("campaign"); c && !text_of(c).empty()) std::cout << "campaign:    " << text_of(c) << "\n";
  const auto* findings = as.if_contains("findings");
  if (!findings || !findings->is_array() || findings->get_array().empty()) {
    std::cout << "evidence:    none\n";
    return 0;
  }
  std::cout << "evidence:\n";
  for (const auto& f : findings->get_array()) {
    if (!f.is_object()) continue;
    const auto& fo = f.get_object();
    std::cout << "  " << text_of(fo.if_contains("detector")) << " (score " << text_of(fo.if_contains("score")) << ")\n";
    if (auto* ev = fo.if_contains("evidence"); ev && ev->is_array())
      for (const auto& e : ev->get_array()) std::cout << "    - " << text_of(&e) << "\n";
  }
  return 0;
}

int cmd_campaigns(const Session& s, const Options& o) {
  std::string raw;
  const auto v = s.call("GET", "/v1/campaigns", "", &raw);
  if (!v) return 1;
  if (o.json) return print_json(raw);
  const auto* data = v->is_object() ? v->get_object().if_contains("data") : nullptr;
  if (!data || !data->is_array() || data->get_array().empty()) {
    std::cout << "No campaigns.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"CAMPAIGN", "SCORE", "MEMBERS", "EVIDENCE"}};
  for (const auto& item : data->get_array()) {
    if (!item.is_object()) continue;
    const auto& c = item.get_object();
    std::string evidence;
    if (auto* ev = c.if_contains("evidence"); ev && ev->is_array())
      for (const auto& e : ev->get_array()) evidence += (evidence.empty() ? "" : "; ") + text_of(&e);
    rows.push_back({text_of(c.if_contains("id")), text_of(c.if_contains("score")), text_of(c.if_contains("members")),
                    evidence});
  }
  print_table(rows);
  return 0;
}

/// The admin listener and fingerprint salt of a proxy config. Only the two
/// admin keys are read here (the token may come from an environment the
/// operator's shell does not have; the proxy validates the section).
bool read_config(const std::string& path, Session& s, std::string& url, std::string& error) {
  try {
    const auto cfg = config::load_config(path);
    s.salt = cfg.proxy.identity.fingerprint_salt;
    s.have_config = true;
    if (url.empty()) {
      std::string address = "127.0.0.1";
      std::string port = "9090";
      if (cfg.admin && cfg.admin.IsMap()) {
        if (cfg.admin["listen"]) address = cfg.admin["listen"].as<std::string>();
        if (cfg.admin["port"]) port = cfg.admin["port"].as<std::string>();
      }
      if (address == "0.0.0.0") address = "127.0.0.1";
      if (address == "::") address = "::1";
      if (address.find(':') != std::string::npos) address = "[" + address + "]";
      url = "http://" + address + ":" + port;
    }
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

}  // namespace

int run_decisions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--all") {
      o.all = true;
    } else if (arg == "--url") {
      ok = value(o.url);
    } else if (arg == "--config" || arg == "-c") {
      ok = value(o.config);
    } else if (arg == "--token-file") {
      ok = value(o.token_file);
    } else if (arg == "--action") {
      ok = value(o.action);
    } else if (arg == "--ttl") {
      ok = value(o.ttl);
    } else if (arg == "--rpm") {
      ok = value(o.rpm);
    } else if (arg == "--reason") {
      ok = value(o.reason);
    } else if (arg == "--timeout") {
      std::string t;
      ok = value(t);
      char* end = nullptr;
      o.timeout_s = ok ? std::strtod(t.c_str(), &end) : 0;
      if (ok && (end == t.c_str() || *end != '\0' || !(o.timeout_s > 0) || o.timeout_s > 3600))
        return usage_error("--timeout must be a number of seconds in (0, 3600]");
    } else if (arg.starts_with("--") || (arg.starts_with("-") && arg != "-")) {
      return usage_error("unknown option '" + arg + "'");
    } else if (o.command.empty()) {
      o.command = arg;
    } else {
      o.positional.push_back(arg);
    }
    if (!ok) return usage_error(arg + " needs a value");
  }
  if (o.command.empty()) return usage_error("no command given");
  static const std::vector<std::string> kCommands = {"list", "add", "lift", "show", "campaigns"};
  if (std::find(kCommands.begin(), kCommands.end(), o.command) == kCommands.end())
    return usage_error("unknown command '" + o.command + "'");
  if ((o.command == "list" || o.command == "campaigns") && !o.positional.empty())
    return usage_error(o.command + " takes no arguments");

  Session s;
  s.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
  std::string url = o.url, error;
  if (!o.config.empty() && !read_config(o.config, s, url, error)) {
    std::cerr << error << "\n";
    return 2;
  }
  if (url.empty()) url = "http://127.0.0.1:9090";
  const auto parsed = parse_admin_url(url, error);
  if (!parsed) return usage_error(error);
  s.url = *parsed;
  if (!o.token_file.empty()) {
    s.token = read_token_file(o.token_file, error);
    if (!error.empty()) return usage_error(error);
  } else if (const char* env = std::getenv("DG_ADMIN_TOKEN"); env && *env) {
    s.token = env;
  } else {
    return usage_error("no admin token: set DG_ADMIN_TOKEN or pass --token-file FILE");
  }

  if (o.command == "list") return cmd_list(s, o);
  if (o.command == "add") return cmd_add(s, o);
  if (o.command == "lift") return cmd_lift(s, o);
  if (o.command == "show") return cmd_show(s, o);
  return cmd_campaigns(s, o);
}

}  // namespace dg::gateway
