#pragma once
/// ProxyHooks for tests: records every exchange and answers on_request with a
/// scripted verdict.

#include <functional>
#include <mutex>
#include <vector>

#include "gateway/enforce/proxy_hooks.hpp"
#include "tests/integration/support/test_client.hpp"

namespace dg::test {

class RecordingHooks : public gateway::ProxyHooks {
 public:
  std::function<gateway::GateVerdict(const gateway::RequestInfo&)> verdict;

  void on_request(const gateway::RequestInfo& info, gateway::RequestState& state) override {
    std::lock_guard lock(mutex_);
    seen_models_.push_back(info.request ? info.request->features.model : "");
    if (verdict) state.verdict = verdict(info);
  }
  void on_exchange(const detectors::Exchange& ex, const gateway::RequestState&) override {
    std::lock_guard lock(mutex_);
    exchanges_.push_back(ex);
  }
  std::vector<detectors::Exchange> exchanges() const {
    std::lock_guard lock(mutex_);
    return exchanges_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return exchanges_.size();
  }
  /// Waits (deadline) until `n` exchanges were reported; returns the last one.
  detectors::Exchange wait_for(std::size_t n) const {
    wait_until([&] { return count() >= n; });
    std::lock_guard lock(mutex_);
    return exchanges_.size() >= n ? exchanges_[n - 1] : detectors::Exchange{};
  }

 private:
  mutable std::mutex mutex_;
  std::vector<detectors::Exchange> exchanges_;
  std::vector<std::string> seen_models_;
};

}  // namespace dg::test
