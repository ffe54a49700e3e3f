#include "gateway/traffic_record.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace dg::gateway {
namespace {

namespace json = boost::json;

bool number_of(const json::value& v, double& out) {
  if (v.is_double()) out = v.get_double();
  else if (v.is_int64()) out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
  else return false;
  return std::isfinite(out);
}

bool count_of(const json::value& v, std::uint64_t& out) {
  if (v.is_int64() && v.get_int64() >= 0) out = static_cast<std::uint64_t>(v.get_int64());
  else if (v.is_uint64()) out = v.get_uint64();
  else if (v.is_double() && v.get_double() >= 0 && std::isfinite(v.get_double()))
    out = static_cast<std::uint64_t>(v.get_double());
  else return false;
  return true;
}

bool optional_string(const json::object& o, std::string_view name, std::string_view& out, std::string& error) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) {
    error = "field '" + std::string(name) + "' must be a string";
    return false;
  }
  out = v->get_string();
  return true;
}

}  // namespace

bool read_traffic_record(const json::value& line, TrafficRecord& out, std::string& error) {
  out = TrafficRecord{};
  const auto* o = line.if_object();
  if (!o) {
    error = "line is not a JSON object";
    return false;
  }
  const auto* ts = o->if_contains("ts");
  if (!ts) {
    error = "missing required field 'ts'";
    return false;
  }
  if (!number_of(*ts, out.ts)) {
    error = "field 'ts' must be a number (Unix seconds)";
    return false;
  }
  const auto* key = o->if_contains("key");
  if (!key) {
    error = "missing required field 'key'";
    return false;
  }
  if (!key->is_string() || key->get_string().empty()) {
    error = "field 'key' must be a non-empty string";
    return false;
  }
  out.key = key->get_string();
  const auto* request = o->if_contains("request");
  if (!request) {
    error = "missing required field 'request'";
    return false;
  }
  if (!request->is_object()) {
    error = "field 'request' must be an object";
    return false;
  }
  out.request = request;
  const auto* response = o->if_contains("response");
  if (!response) {
    error = "missing required field 'response'";
    return false;
  }
  const auto* ro = response->if_object();
  if (!ro) {
    error = "field 'response' must be an object";
    return false;
  }
  const auto* status = ro->if_contains("status");
  std::uint64_t st = 0;
  if (!status) {
    error = "missing required field 'response.status'";
    return false;
  }
  if (!count_of(*status, st) || st > 999) {
    error = "field 'response.status' must be an HTTP status code";
    return false;
  }
  out.status = static_cast<int>(st);
  std::uint64_t n = 0;
  if (const auto* pt = ro->if_contains("prompt_tokens"); pt && !pt->is_null()) {
    if (!count_of(*pt, n)) {
      error = "field 'response.prompt_tokens' must be a non-negative integer";
      return false;
    }
    out.prompt_tokens = n;
  }
  if (const auto* ct = ro->if_contains("completion_tokens"); ct && !ct->is_null()) {
    if (!count_of(*ct, n)) {
      error = "field 'response.completion_tokens' must be a non-negative integer";
      return false;
    }
    out.completion_tokens = n;
  }
  if (const auto* lat = ro->if_contains("latency_ms"); lat && !lat->is_null()) {
    if (!number_of(*lat, out.latency_ms)) {
      error = "field 'response.latency_ms' must be a number";
      return false;
    }
  }
  return optional_string(*o, "client_ip", out.client_ip, error) &&
         optional_string(*o, "user_agent", out.user_agent, error) &&
         optional_string(*o, "method", out.method, error) && optional_string(*o, "path", out.path, error);
}

}  // namespace dg::gateway
