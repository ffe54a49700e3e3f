#include "gateway/enforce/enforcer.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "gateway/enforce/degrade_rewrite.hpp"

namespace dg::gateway {

using detectors::Action;
using detectors::Decision;
using detectors::FailMode;

namespace {

GateVerdict reject(int status, GateAction action, std::string type, std::string code, std::string message) {
  GateVerdict v;
  v.kind = GateVerdict::Kind::Reject;
  v.action = action;
  v.status = status;
  v.error_type = std::move(type);
  v.error_code = std::move(code);
  v.message = std::move(message);
  return v;
}

/// RFC 9110 §10.2.3: a delta-seconds above 2^31 - 1 need not be understood.
constexpr long long kMaxHeaderSeconds = 2147483647;

/// `v` as an integer in [lo, hi]: saturating, so that a TTL of 1e20 or the
/// 1e300-second wait of a 1e-300 rpm bucket never becomes an overflowed (UB,
/// in practice negative) header value. NaN (0/0 in a degenerate bucket) is a
/// long wait, not none.
long long saturate(double v, long long lo, long long hi) {
  if (std::isnan(v) || v >= static_cast<double>(hi)) return hi;
  if (v <= static_cast<double>(lo)) return lo;
  return static_cast<long long>(v);
}

std::string whole_seconds(double s) { return std::to_string(saturate(std::ceil(s), 1, kMaxHeaderSeconds)); }

std::string whole_ms(double s) { return std::to_string(saturate(std::ceil(s * 1000), 0, kMaxHeaderSeconds * 1000)); }

std::string whole_count(double v) { return std::to_string(saturate(v, 0, kMaxHeaderSeconds)); }

}  // namespace

std::string format_reset(double seconds) {
  if (std::isnan(seconds) || seconds < 0) seconds = 0;
  if (seconds < 1) return std::to_string(saturate(std::ceil(seconds * 1000), 0, 1000)) + "ms";
  auto total = saturate(std::ceil(seconds), 1, kMaxHeaderSeconds);
  std::string out;
  if (total >= 3600) {
    out += std::to_string(total / 3600) + "h";
    total %= 3600;
    out += std::to_string(total / 60) + "m";
    total %= 60;
  } else if (total >= 60) {
    out += std::to_string(total / 60) + "m";
    total %= 60;
  }
  return out + std::to_string(total) + "s";
}

Enforcer::Enforcer(detectors::PolicyEngine& policy, DecisionStore& store, AssessmentSource* detection,
                   std::size_t max_keys)
    : policy_(policy), store_(store), detection_(detection), pipeline_(&policy, store, detection),
      per_shard_cap_(std::max<std::size_t>(1, max_keys / kShards)), shards_(std::make_unique<Shard[]>(kShards)) {}

Enforcer::KeyRuntime* Enforcer::Shard::find(std::string_view key_fp) {
  auto it = index.find(key_fp);
  return it == index.end() ? nullptr : &it->second->second;
}

Enforcer::KeyRuntime& Enforcer::touch(Shard& s, std::string_view key_fp) {
  if (auto it = s.index.find(key_fp); it != s.index.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // iterators stay valid
    return it->second->second;
  }
  if (s.index.size() >= per_shard_cap_) {
    s.index.erase(std::string_view(s.lru.back().first));
    s.lru.pop_back();
    stats_.keys_evicted.fetch_add(1, std::memory_order_relaxed);
  }
  s.lru.emplace_front(std::string(key_fp), KeyRuntime{});
  s.index.emplace(std::string_view(s.lru.front().first), s.lru.begin());
  return s.lru.front().second;
}

std::size_t Enforcer::keys_tracked() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    n += shards_[i].index.size();
  }
  return n;
}

bool Enforcer::detection_failed_recently(double now) const {
  if (!detection_) return true;
  // A detection failure, or a decision the journal could not persist.
  const double last = std::max(last_failure_.load(std::memory_order_relaxed), store_.last_journal_failure());
  return now - last < kFailureHoldS;
}

// The output-token window is HAProxy's freq_ctr like detectors::FreqWindow,
// but not the same window: it is anchored at the key's first exchange (and
// re-anchored after a gap of two windows), not at multiples of the period
// since the epoch, holds fractional token counts, and restarts when the
// policy's window changes (FreqWindow::rebase keeps the counts). Moving it
// onto FreqWindow would change when a key's budget frees up and its
// Retry-After, so it stays its own.
double Enforcer::window_value(const KeyRuntime& r, double now, double window) {
  if (r.window_len != window || window <= 0) return 0;
  const double elapsed = now - r.window_start;
  if (elapsed >= 2 * window) return 0;
  if (elapsed >= window) return r.curr * (1 - (elapsed - window) / window);
  return r.prev * (1 - elapsed / window) + r.curr;
}

void Enforcer::window_add(KeyRuntime& r, double now, double window, double amount) {
  if (r.window_len != window) {
    r.window_start = now;
    r.window_len = window;
    r.curr = 0;
    r.prev = 0;
  }
  const double elapsed = now - r.window_start;
  if (elapsed >= 2 * window) {
    r.prev = 0;
    r.curr = 0;
    r.window_start = now;
  } else if (elapsed >= window) {
    r.prev = r.curr;
    r.curr = 0;
    r.window_start += window;
  }
  r.curr += amount;
}

double Enforcer::budget_used(std::string_view key_fp, double now) const {
  const auto window = policy_.policy()->output_budget.window_s;
  auto& s = shard_of(key_fp);
  std::lock_guard lock(s.mutex);
  const auto* r = s.find(key_fp);
  return r ? window_value(*r, now, window) + r->in_flight : 0;
}

/// One stream's claim on its key's output budget. The stream reports what it
/// relayed so far; that is added to the key's in-flight tokens, which every
/// other stream and every new request of the key sees. The claim ends when
/// the proxy drops this object, after on_exchange has counted the finished
/// exchange (so for a moment the tokens count twice: stricter, never looser).
class Enforcer::SharedBudget final : public StreamBudget {
 public:
  SharedBudget(Enforcer& e, std::string key_fp, std::uint64_t budget, double window, double now)
      : e_(e), key_fp_(std::move(key_fp)), budget_(budget), window_(window), admitted_(now),
        started_(std::chrono::steady_clock::now()) {}

  ~SharedBudget() override {
    auto& s = e_.shard_of(key_fp_);
    std::lock_guard lock(s.mutex);
    if (auto* r = s.find(key_fp_)) r->in_flight = std::max(0.0, r->in_flight - static_cast<double>(charged_));
  }

  std::uint64_t allowance(std::uint64_t tokens) override {
    // Event time of the request plus the time the stream has been running.
    const double now = admitted_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    auto& s = e_.shard_of(key_fp_);
    std::lock_guard lock(s.mutex);
    auto& r = e_.touch(s, key_fp_);
    if (tokens > charged_) {
      r.in_flight += static_cast<double>(tokens - charged_);
      charged_ = tokens;
    }
    const double left = static_cast<double>(budget_) - window_value(r, now, window_) - r.in_flight;
    return tokens + (left > 0 ? static_cast<std::uint64_t>(left) : 0);
  }

 private:
  Enforcer& e_;
  const std::string key_fp_;
  const std::uint64_t budget_;
  const double window_;
  const double admitted_;
  const std::chrono::steady_clock::time_point started_;
  std::uint64_t charged_ = 0;  ///< tokens of this stream in the key's in_flight
};

namespace {

/// When the fleet's sliding count (prev_total weighted by the part of the
/// previous window still in view, plus curr_total) next leaves room for one
/// request, if nothing else is admitted meanwhile.
double fleet_throttle_retry(const SharedCounters::Estimate& e, double limit, double window) {
  const double room = limit - 1;  // the count must fall to limit - 1
  const double elapsed = (1 - e.prev_weight) * window;
  if (e.curr_total <= room) {
    if (e.prev_total <= 0) return 0.001;
    const double weight_needed = (room - e.curr_total) / e.prev_total;  // prev weight that fits
    return std::max(0.001, (1 - weight_needed) * window - elapsed);
  }
  // Not before the next window; then this window's count weighs as prev.
  const double weight_needed = room / e.curr_total;
  return std::max(0.001, (window - elapsed) + (1 - weight_needed) * window);
}

}  // namespace

GateVerdict Enforcer::throttle(const RequestInfo& info, const Decision& d, const detectors::Policy& policy,
                               Admission at) {
  const double rpm = d.throttle_rpm > 0 ? d.throttle_rpm : policy.throttle.requests_per_minute;
  const double burst = d.throttle_burst >= 1 ? d.throttle_burst : policy.throttle.burst;
  auto& s = shard_of(info.key_fp);
  bool ok = false;
  double remaining = 0, retry = 0, reset = 0, fleet_retry = 0;
  {
    std::lock_guard lock(s.mutex);
    auto& r = touch(s, info.key_fp);
    r.last_seen = info.now;
    // A new decision (or new parameters) starts a fresh bucket.
    if (!r.bucket || r.bucket_rpm != rpm || r.bucket_burst != burst || r.bucket_created != d.created) {
      r.bucket.emplace(burst, rpm / 60.0, info.now);
      r.bucket_rpm = rpm;
      r.bucket_burst = burst;
      r.bucket_created = d.created;
    }
    ok = r.bucket->next_token_available(info.now) == 0;
    if (ok && shared_counters_) {
      // The fleet's count, checked and taken in one step under this lock
      // (the bucket's token is taken only if the fleet admits too).
      const double limit = std::max(1.0, rpm * kFleetThrottleWindowS / 60);
      const auto a = shared_counters_->admit(SharedCounterKind::Throttle, info.key_fp, kFleetThrottleWindowS, info.now,
                                             limit, 1, at == Admission::Request);
      if (!a.ok) {
        ok = false;
        fleet_retry = fleet_throttle_retry(a.before, limit, kFleetThrottleWindowS);
      }
    }
    if (ok && at == Admission::Request) r.bucket->consume(info.now);
    remaining = fleet_retry > 0 ? 0 : r.bucket->remaining(info.now);
    retry = std::max(fleet_retry, r.bucket->next_token_available(info.now));
    reset = std::max(fleet_retry, r.bucket->seconds_until_full(info.now));
  }
  if (ok) {
    GateVerdict v;
    v.action = GateAction::Throttle;
    return v;
  }
  char msg[160];
  std::snprintf(msg, sizeof msg,
                "Rate limit reached for this API key: %.0f requests per minute. Please try again in %s.", rpm,
                format_reset(retry).c_str());
  auto v = reject(429, GateAction::Throttle, "rate_limit_exceeded", "rate_limit_exceeded", msg);
  v.headers.emplace_back("Retry-After", whole_seconds(retry));
  v.headers.emplace_back("retry-after-ms", whole_ms(retry));
  v.headers.emplace_back("x-ratelimit-limit-requests", whole_count(std::round(rpm)));
  v.headers.emplace_back("x-ratelimit-remaining-requests", whole_count(std::floor(remaining)));
  v.headers.emplace_back("x-ratelimit-reset-requests", format_reset(reset));
  return v;
}

void Enforcer::on_request(const RequestInfo& info, RequestState& state) {
  if (analyze_prompts_ && detection_ && !info.key_fp.empty() && info.request && info.request->features.body_is_json) {
    try {
      state.prompt = detection_->analyze(info.request->text);
    } catch (const std::exception&) {
      stats_.detection_failures.fetch_add(1, std::memory_order_relaxed);
    }
  }
  state.verdict = admit(info, Admission::Request);
  if (state.verdict.kind == GateVerdict::Kind::Reject) count_refusal(state.verdict.action);
}

void Enforcer::on_head(const RequestInfo& info, RequestState& state) {
  auto verdict = admit(info, Admission::Head);
  if (verdict.kind != GateVerdict::Kind::Reject) return;
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  count_refusal(verdict.action);
  state.verdict = std::move(verdict);
}

void Enforcer::count_refusal(GateAction action) {
  switch (action) {
    case GateAction::Block: stats_.blocked.fetch_add(1, std::memory_order_relaxed); break;
    case GateAction::Throttle: stats_.throttled.fetch_add(1, std::memory_order_relaxed); break;
    case GateAction::Budget: stats_.budget_rejected.fetch_add(1, std::memory_order_relaxed); break;
    case GateAction::FailClosed: break;  // counted by admit, by its cause
    case GateAction::Degrade: stats_.degrade_refused.fetch_add(1, std::memory_order_relaxed); break;
    case GateAction::Allow:
    case GateAction::Shadow:
    case GateAction::Unauthenticated: break;
  }
}

GateVerdict Enforcer::admit(const RequestInfo& info, Admission at) {
  if (at == Admission::Request) stats_.requests.fetch_add(1, std::memory_order_relaxed);
  if (info.key_fp.empty()) return {};
  const auto policy = policy_.policy();

  const bool detection_down = policy->fail_mode == FailMode::Closed && detection_failed_recently(info.now);
  const bool fleet_down = shared_state_ && !shared_state_->load(std::memory_order_relaxed);
  if (detection_down || fleet_down) {
    // One 503 each, counted here by its cause (detection first: it is the
    // policy's own fail mode); every Reject admit returns is a refusal.
    (detection_down ? stats_.fail_closed_rejected : stats_.fleet_rejected).fetch_add(1, std::memory_order_relaxed);
    auto v = reject(503, GateAction::FailClosed, "server_error", "enforcement_unavailable",
                    "The service is temporarily unavailable. Please retry later.");
    v.headers.emplace_back("Retry-After", whole_seconds(kFailureHoldS));
    return v;
  }

  GateVerdict verdict;
  const auto d = store_.table().active(info.key_fp, info.now);
  if (d) {
    switch (d->action) {
      case Action::Block: {
        std::string msg = "This API key has been blocked for violating the usage policy.";
        if (d->expires > 0) msg += " The block ends in " + format_reset(d->expires - info.now) + ".";
        auto v = reject(403, GateAction::Block, "permission_denied", "key_blocked", std::move(msg));
        if (d->expires > 0) v.headers.emplace_back("Retry-After", whole_seconds(d->expires - info.now));
        return v;
      }
      case Action::Throttle:
        verdict = throttle(info, *d, *policy, at);
        if (verdict.kind == GateVerdict::Kind::Reject) return verdict;
        break;
      case Action::Degrade:
        verdict.action = GateAction::Degrade;
        if (!info.body.empty()) {
          verdict.rewritten_body = degrade_body(info.path, info.body, d->degrade);
          if (!verdict.rewritten_body) {
            // Forwarded as it is, a body we cannot rewrite would reach the
            // upstream with whatever it asks for (an upstream may accept
            // what we could not read): refuse it instead.
            return reject(400, GateAction::Degrade, "invalid_request_error", "invalid_json_body",
                          "The request body is not a valid JSON object.");
          }
          stats_.degraded.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      case Action::Shadow:
        verdict.action = GateAction::Shadow;
        if (at == Admission::Request) stats_.shadowed.fetch_add(1, std::memory_order_relaxed);
        break;
      case Action::Allow:
        break;
    }
  }

  // Output budget: the decision's own, else the policy's; never for allowlisted keys.
  if (!policy->allowlisted(info.key_fp)) {
    const std::uint64_t budget = d && d->output_token_budget > 0 ? d->output_token_budget : policy->output_budget.tokens;
    if (budget > 0) {
      const double window = policy->output_budget.window_s;
      double used = budget_used(info.key_fp, info.now);
      if (shared_counters_)
        used += shared_counters_->estimate(SharedCounterKind::Budget, info.key_fp, window, info.now).others;
      if (used >= static_cast<double>(budget)) {
        // The sliding window frees about budget/window tokens per second.
        const double retry = std::min(window, (used - static_cast<double>(budget) + 1) * window / static_cast<double>(budget));
        auto v = reject(429, GateAction::Budget, "rate_limit_exceeded", "output_token_budget_exceeded",
                        "Output token budget for this API key is used up. Please try again in " +
                            format_reset(retry) + ".");
        v.headers.emplace_back("Retry-After", whole_seconds(retry));
        v.headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(budget));
        v.headers.emplace_back("x-ratelimit-remaining-tokens", "0");
        v.headers.emplace_back("x-ratelimit-reset-tokens", format_reset(retry));
        return v;
      }
      if (at == Admission::Head) return verdict;
      verdict.output_token_budget = budget - static_cast<std::uint64_t>(used);
      // Only a stream is cut mid-way and can overlap with the key's others;
      // a body we could not read might still ask for one.
      if (!info.request || !info.request->features.body_is_json || info.request->features.stream)
        verdict.stream_budget = std::make_shared<SharedBudget>(*this, std::string(info.key_fp), budget, window, info.now);
    }
  }
  return verdict;
}

void Enforcer::on_exchange(const detectors::Exchange& exchange, const RequestState& state) {
  // Refused on its head, the exchange has no request features to learn from.
  if (exchange.key_fp.empty() || state.refused_on_head) return;
  const auto policy = policy_.policy();
  const double window = policy->output_budget.window_s;
  {
    auto& s = shard_of(exchange.key_fp);
    std::lock_guard lock(s.mutex);
    auto& r = touch(s, exchange.key_fp);
    r.last_seen = exchange.ts;
    window_add(r, exchange.ts, window, static_cast<double>(exchange.response.completion_tokens));
  }
  // Shared only where a budget applies (the policy's, or the key's decision's).
  if (shared_counters_ && window > 0 && exchange.response.completion_tokens > 0 && !policy->allowlisted(exchange.key_fp) &&
      (policy->output_budget.tokens > 0 || [&] {
        const auto d = store_.table().active(exchange.key_fp, exchange.ts);
        return d && d->output_token_budget > 0;
      }()))
    shared_counters_->add(SharedCounterKind::Budget, exchange.key_fp, window, exchange.ts,
                          static_cast<double>(exchange.response.completion_tokens));
  // The prompt this request's on_request analyzed, when the proxy sent none.
  const auto& given = exchange.request.prompt;
  const bool needs_prompt = given.template_signature == 0 && given.normalized_chars == 0 && given.system_prompt_hash == 0;
  std::optional<detectors::Exchange> with_prompt;
  if (needs_prompt && state.prompt) {
    with_prompt.emplace(exchange);
    with_prompt->request.prompt = *state.prompt;
  }
  const detectors::Exchange& ex = with_prompt ? *with_prompt : exchange;

  auto r = pipeline_.run(ex, policy.get());
  switch (r.detection) {
    case PipelineResult::Detection::Observed:
      break;
    case PipelineResult::Detection::Unavailable:
      stats_.detection_failures.fetch_add(1, std::memory_order_relaxed);
      return;
    case PipelineResult::Detection::Failed:
      stats_.detection_failures.fetch_add(1, std::memory_order_relaxed);
      last_failure_.store(ex.ts, std::memory_order_relaxed);
      spdlog::warn("detection failed for {}: {} (fail-{})", ex.key_fp, r.error,
                   policy->fail_mode == FailMode::Open ? "open" : "closed");
      return;
  }
  if (!r.decision) return;
  const auto& d = *r.decision;
  stats_.decisions.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("decision: {} {} ({}) until {:.0f}: {}", d.key_fp, detectors::to_string(d.action), d.rule, d.expires,
               d.reason);
  if (listener_) listener_(d, r.assessment);
}

}  // namespace dg::gateway
