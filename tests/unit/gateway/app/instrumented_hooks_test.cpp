#include <catch2/catch.hpp>

#include <string>

#include "gateway/app/instrumented_hooks.hpp"

using namespace dg::gateway;

namespace {

/// Inner hooks with a scripted verdict per request path; records the
/// actions the exchanges arrive with.
struct ScriptedHooks final : ProxyHooks {
  std::vector<GateAction> seen;
  void on_request(const RequestInfo& info, RequestState& state) override {
    if (info.path == "/v1/chat/completions") {
      state.verdict.action = GateAction::Throttle;
    } else {
      state.verdict.kind = GateVerdict::Kind::Reject;
      state.verdict.action = GateAction::Block;
      state.verdict.status = 403;
    }
  }
  void on_exchange(const dg::detectors::Exchange&, const RequestState& state) override {
    seen.push_back(state.verdict.action);
  }
};

dg::detectors::Exchange exchange(std::string path, double ts, int status) {
  dg::detectors::Exchange ex;
  ex.ts = ts;
  ex.key_fp = "fp:00000000000000a1";
  ex.path = std::move(path);
  ex.response.status = status;
  return ex;
}

double requests(DgMetrics& m, std::string_view route, std::string_view status, std::string_view action) {
  return static_cast<double>(m.requests.with({route, status, action}).value());
}

}  // namespace

TEST_CASE("instrumented hooks: the request's own state carries its action to the exchange, through a client abort",
          "[unit][hooks]") {
  dg::gateway::metrics::Registry registry;
  DgMetrics m(registry);
  ScriptedHooks inner;
  InstrumentedHooks hooks(inner, m);

  // Two requests of one key that arrive in the same instant (the same
  // (key, arrival) that a join on them could not tell apart) and finish in
  // the other order; the first one's client leaves mid-response.
  RequestInfo a;
  a.now = 100;
  a.key_fp = "fp:00000000000000a1";
  a.path = "/v1/chat/completions";
  RequestInfo b = a;
  b.path = "/v1/completions";
  RequestState sa, sb;
  hooks.on_request(a, sa);
  hooks.on_request(b, sb);
  hooks.on_exchange(exchange("/v1/completions", 100, 403), sb);
  sa.client_gone = true;  // as the session records it before the exchange hook
  hooks.on_exchange(exchange("/v1/chat/completions", 100, 200), sa);

  CHECK(requests(m, "completions", "403", "block") == 1);
  CHECK(requests(m, "chat_completions", "200", "throttle") == 1);  // the label is the action alone
  CHECK(requests(m, "chat_completions", "200", "allow") == 0);
  CHECK(inner.seen == std::vector<GateAction>{GateAction::Block, GateAction::Throttle});
  // The access log qualifies it.
  CHECK(access_log_label(sa.verdict.action, sa.client_gone) == "throttle+client_gone");
  CHECK(access_log_label(sb.verdict.action, sb.client_gone) == "block");
}

TEST_CASE("instrumented hooks: every refusal on credentials counts as unauthenticated, as the access log says",
          "[unit][hooks]") {
  dg::gateway::metrics::Registry registry;
  DgMetrics m(registry);
  ProxyHooks allow_all;
  InstrumentedHooks hooks(allow_all, m);
  RequestState refused;
  refused.verdict.action = GateAction::Unauthenticated;  // the session's, on_request never ran
  auto missing = exchange("/v1/chat/completions", 1, 401);
  missing.key_fp.clear();
  hooks.on_exchange(missing, refused);
  auto bad_connection = exchange("/v1/chat/completions", 2, 400);
  bad_connection.key_fp.clear();
  hooks.on_exchange(bad_connection, refused);
  CHECK(requests(m, "chat_completions", "401", "unauthenticated") == 1);
  CHECK(requests(m, "chat_completions", "400", "unauthenticated") == 1);
  CHECK(requests(m, "chat_completions", "400", "allow") == 0);
}

TEST_CASE("gate actions render the labels of the access log and the metrics", "[unit][hooks]") {
  const std::pair<GateAction, std::string_view> labels[] = {
      {GateAction::Allow, "allow"},       {GateAction::Shadow, "shadow"},
      {GateAction::Throttle, "throttle"}, {GateAction::Degrade, "degrade"},
      {GateAction::Block, "block"},       {GateAction::Budget, "budget"},
      {GateAction::FailClosed, "fail_closed"}, {GateAction::Unauthenticated, "unauthenticated"}};
  for (const auto& [action, label] : labels) {
    CHECK(to_string(action) == label);
    CHECK(access_log_label(action, false) == label);
    CHECK(access_log_label(action, true) == std::string(label) + "+client_gone");
    CHECK(DgMetrics::kActionNames[static_cast<std::size_t>(DgMetrics::action_index(label))] == label);
  }
  CHECK(RequestState{}.verdict.action == GateAction::Allow);
}
