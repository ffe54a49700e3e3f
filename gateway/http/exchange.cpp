#include "gateway/http/exchange.hpp"

namespace dg::gateway {

std::optional<ProxyError> identity_refusal(const Identity& id, bool allow_anonymous) {
  switch (id.error) {
    case IdentityError::Ambiguous:
      return ProxyError{http::status::unauthorized, "invalid_request_error", "ambiguous_api_key",
                        "The request carries more than one API key (in '" + std::string(id.header) +
                            "'). Send exactly one, in Authorization (Bearer KEY), api-key or x-api-key."};
    case IdentityError::ConnectionNamesIdentity:
      return ProxyError{http::status::bad_request, "invalid_request_error", "invalid_connection_header",
                        "The Connection header may not name the identity header '" + std::string(id.header) + "'."};
    case IdentityError::None:
      break;
  }
  if (id.key.empty() && !allow_anonymous)
    return ProxyError{http::status::unauthorized, "invalid_request_error", "missing_api_key",
                      "You didn't provide an API key. Provide it in the Authorization header (Bearer KEY), "
                      "or in an api-key or x-api-key header."};
  return std::nullopt;
}

RequestHead read_request_head(const config::ProxyConfig& cfg, const http::request_header<>& head,
                              const std::string& peer_ip, double ts) {
  RequestHead h;
  h.target = std::string(head.target());
  h.request_id = request_id_for(head["x-request-id"]);
  auto& ex = h.ex;
  ex.ts = ts;
  ex.method = std::string(head.method_string());
  ex.path = std::string(detail::path_of(h.target));
  ex.user_agent = std::string(head[http::field::user_agent]);
  if (!cfg.identity.tenant_header.empty()) ex.tenant = std::string(head[cfg.identity.tenant_header]);
  h.fwd = resolve_forwarding(peer_ip, head["X-Forwarded-For"], head["X-Forwarded-Proto"], cfg.trusted_proxies);
  ex.client_ip = h.fwd.client_ip;
  h.identity = resolve_identity(head, cfg.identity.key_headers, cfg.identity.tenant_header);
  if (!h.identity.key.empty()) ex.key_fp = key_fingerprint(h.identity.key, cfg.identity.fingerprint_salt);
  return h;
}

RequestInfo request_info(const detectors::Exchange& ex, const ExtractedRequest* request, std::string_view body) {
  RequestInfo info;
  info.now = ex.ts;
  info.key_fp = ex.key_fp;
  info.client_ip = ex.client_ip;
  info.user_agent = ex.user_agent;
  info.method = ex.method;
  info.path = ex.path;
  info.tenant = ex.tenant;
  info.request = request;
  info.body = body;
  return info;
}

ProxyError policy_refusal(const GateVerdict& verdict) {
  const int status = verdict.status >= 400 && verdict.status <= 599 ? verdict.status : 403;
  return ProxyError{static_cast<http::status>(status),
                    verdict.error_type.empty() ? std::string_view("permission_denied") : std::string_view(verdict.error_type),
                    verdict.error_code, verdict.message.empty() ? "Request refused by policy." : verdict.message};
}

void report_exchange(WorkerContext& ctx, detectors::Exchange& ex, const RequestState& state, int status,
                     const ExchangeTimes& times, const std::string& request_id, const std::string* body) {
  using Clock = std::chrono::steady_clock;
  const auto done = Clock::now();
  ex.response.status = status;
  ex.response.latency_ms = detail::elapsed_ms(times.arrived, done);
  const double upstream_ms =
      times.upstream_start == Clock::time_point{}
          ? 0
          : detail::elapsed_ms(times.upstream_start,
                               times.upstream_done == Clock::time_point{} ? done : times.upstream_done);
  ctx.stats.bytes_to_clients.fetch_add(times.bytes_out, std::memory_order_relaxed);
  try {
    ctx.hooks.on_exchange(ex, state);
  } catch (const std::exception& e) {
    ctx.stats.hook_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("on_exchange hook failed: {}", e.what());
  }
  // A request refused on its head has no body to capture (and replay would
  // read its empty request as a real one): the access log records it.
  if (body && ctx.capture &&
      !ctx.capture->append(make_traffic_record(ex, *body, ctx.capture->include_content(), request_id)))
    ctx.stats.capture_dropped.fetch_add(1, std::memory_order_relaxed);
  const AccessEntry entry{request_id, ex.key_fp, ex.client_ip, ex.method, ex.path, ex.request.model,
                          access_log_label(state.verdict.action, state.client_gone), status,
                          ex.response.prompt_tokens, ex.response.completion_tokens, ex.response.usage_estimated,
                          upstream_ms, ex.response.latency_ms - upstream_ms, ex.response.latency_ms, times.bytes_out};
  ctx.access.write(entry);
  record_access_latency(default_metrics(), entry);
}

bool reads_response(detectors::Endpoint e) {
  using detectors::Endpoint;
  return e == Endpoint::ChatCompletions || e == Endpoint::Completions || e == Endpoint::Responses ||
         e == Endpoint::Embeddings || e == Endpoint::Messages;
}

// The product's exchange: a TCP client.
template net::awaitable<bool> refuse_on_head<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&, const std::string&,
                                                               const http::request_header<>&,
                                                               std::chrono::steady_clock::time_point, double);
template net::awaitable<bool> handle_request<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&, const std::string&,
                                                               http::request<http::string_body>&,
                                                               std::chrono::steady_clock::time_point, double);

}  // namespace dg::gateway
