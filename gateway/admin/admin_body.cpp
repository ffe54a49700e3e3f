#include "gateway/admin/admin_body.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace dg::gateway {

namespace json = boost::json;

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view type_name(FieldType t) {
  switch (t) {
    case FieldType::String: return "a string";
    case FieldType::Number: return "a number";
    case FieldType::Boolean: return "a boolean";
  }
  return "a value";
}

bool has_type(const json::value& v, FieldType t) {
  switch (t) {
    case FieldType::String: return v.is_string();
    case FieldType::Number:
      // 1e400 parses as an infinity: not a number any range check could accept.
      return v.is_int64() || v.is_uint64() || (v.is_double() && std::isfinite(v.get_double()));
    case FieldType::Boolean: return v.is_bool();
  }
  return false;
}

std::string known_list(std::initializer_list<FieldSpec> fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += ", ";
    out += "'" + std::string(f.name) + "'";
  }
  return out;
}

AdminResponse unknown_name(std::string_view kind, std::string_view name, std::string_view suggestion,
                           const std::string& known) {
  std::string message = "Unknown " + std::string(kind) + " '" + std::string(name) + "'";
  if (!suggestion.empty()) message += " (did you mean '" + std::string(suggestion) + "'?)";
  message += known.empty() ? "; this request takes none." : "; expected one of " + known + ".";
  return admin_bad_request(message, name);
}

std::string_view closest_in(std::string_view given, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_d = 3;
  for (const auto k : known) {
    std::size_t d = edit_distance(given, k);
    // "ttl" for "ttl_s", "requests_per_minute_limit" for "requests_per_minute".
    if (given.size() >= 2 && (k.starts_with(given) || given.starts_with(k))) d = std::min<std::size_t>(d, 2);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

}  // namespace

AdminResponse admin_bad_request(std::string_view message, std::string_view param) {
  return admin_error(400, message, "invalid_request_error", "invalid_request", param);
}

std::string_view closest_name(std::string_view given, std::initializer_list<std::string_view> known) {
  return closest_in(given, std::vector<std::string_view>(known));
}

std::optional<json::object> parse_admin_body(std::string_view body, std::initializer_list<FieldSpec> fields,
                                             bool empty_ok, AdminResponse& error) {
  if (empty_ok && body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    error = admin_bad_request(ec ? "The body is not valid JSON: " + ec.message() + "." : "The body must be a JSON object.");
    return std::nullopt;
  }
  auto& o = v.get_object();
  for (const auto& kv : o) {
    const auto* spec = std::find_if(fields.begin(), fields.end(), [&](const FieldSpec& f) { return f.name == kv.key(); });
    if (spec == fields.end()) {
      std::vector<std::string_view> names;
      for (const auto& f : fields) names.push_back(f.name);
      const auto suggestion = closest_in(kv.key(), names);
      error = unknown_name("field", kv.key(), suggestion, known_list(fields));
      return std::nullopt;
    }
    if (!has_type(kv.value(), spec->type)) {
      error = admin_bad_request("'" + std::string(spec->name) + "' must be " + std::string(type_name(spec->type)) + ".",
                                spec->name);
      return std::nullopt;
    }
  }
  return std::move(o);
}

std::optional<std::map<std::string, std::string>> parse_admin_query(std::string_view query,
                                                                    std::initializer_list<std::string_view> names,
                                                                    AdminResponse& error) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string name(part.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string known;
      for (const auto n : names) known += (known.empty() ? "'" : ", '") + std::string(n) + "'";
      error = unknown_name("query parameter", name, closest_name(name, names), known);
      return std::nullopt;
    }
    if (!out.emplace(name, value).second) {
      error = admin_bad_request("Query parameter '" + name + "' is given more than once.", name);
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace dg::gateway
