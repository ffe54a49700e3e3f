#pragma once
/// A token bucket with injected time (after Envoy's TokenBucketImpl): the
/// caller passes `now` (Unix seconds, event time) to every call, so tests and
/// replay drive it with a fake clock and nothing here reads a clock.
/// Not thread-safe; callers hold their shard's lock.

#include <algorithm>
#include <cmath>

namespace dg::detectors {

class TokenBucket {
 public:
  /// `max_tokens` is the burst size, `fill_rate` tokens per second. Starts full.
  TokenBucket(double max_tokens, double fill_rate, double now) noexcept
      : max_(std::max(max_tokens, 1.0)), rate_(std::max(fill_rate, 0.0)), tokens_(max_), last_(now) {}

  /// Takes `tokens` if available; returns false (taking nothing) otherwise.
  bool consume(double now, double tokens = 1) noexcept {
    refill(now);
    if (tokens_ + 1e-9 < tokens) return false;
    tokens_ -= tokens;
    return true;
  }

  /// Seconds until `tokens` will be available (0 if they are now).
  double next_token_available(double now, double tokens = 1) noexcept {
    refill(now);
    if (tokens_ + 1e-9 >= tokens) return 0;
    if (rate_ <= 0) return INFINITY;
    return (tokens - tokens_) / rate_;
  }

  /// Whole tokens available now.
  double remaining(double now) noexcept {
    refill(now);
    return std::floor(tokens_ + 1e-9);
  }

  /// Seconds until the bucket is full again.
  double seconds_until_full(double now) noexcept {
    refill(now);
    if (rate_ <= 0) return tokens_ >= max_ ? 0 : INFINITY;
    return (max_ - tokens_) / rate_;
  }

  double max_tokens() const noexcept { return max_; }
  double fill_rate() const noexcept { return rate_; }

 private:
  void refill(double now) noexcept {
    // Event time may step backwards slightly across workers: never refund.
    if (now > last_) {
      tokens_ = std::min(max_, tokens_ + (now - last_) * rate_);
      last_ = now;
    }
  }

  double max_;
  double rate_;
  double tokens_;
  double last_;
};

}  // namespace dg::detectors
