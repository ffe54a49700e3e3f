// Cost of the enforcement hot path (Enforcer::on_request) and of a durable
// decision change (journal append with fsync). Reproduce with:
//   cmake --build build -j2 --target dg-bench-enforcer && build/dg-bench-enforcer [keys]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gateway/enforce/enforcer.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::PolicyEngine;

int main(int argc, char** argv) {
  const int keys = argc > 1 ? std::stoi(argv[1]) : 100000;
  auto policy = std::make_shared<dg::detectors::Policy>();
  PolicyEngine engine(policy);
  DecisionStore store(DecisionStoreOptions{});
  std::vector<std::string> fps;
  for (int i = 0; i < keys; ++i) {
    char fp[32];
    std::snprintf(fp, sizeof fp, "fp:%016x", i);
    fps.emplace_back(fp);
    if (i % 10 == 0) {  // every 10th key has a decision
      auto d = PolicyEngine::operator_decision(*policy, fp, i % 20 == 0 ? Action::Block : Action::Shadow, "bench", 0, 0.0);
      store.apply(d, "operator", 0);
    }
  }
  Enforcer enforcer(engine, store, nullptr);
  auto run = [&](int threads, std::size_t per_thread) {
    std::vector<std::thread> ts;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        RequestInfo info;
        for (std::size_t i = 0; i < per_thread; ++i) {
          info.now = 1;
          info.key_fp = fps[(i * 7919 + static_cast<std::size_t>(t)) % fps.size()];
          RequestState state;
          enforcer.on_request(info, state);
        }
      });
    for (auto& th : ts) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("on_request: %d thread(s), %zu calls: %.0f ns/call, %.2f M calls/s total\n", threads,
                per_thread * threads, s * 1e9 / static_cast<double>(per_thread), static_cast<double>(per_thread * threads) / s / 1e6);
  };
  run(1, 2000000);
  run(2, 2000000);

  const auto dir = std::filesystem::temp_directory_path() / "dg-bench-journal";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (auto mode : {FsyncPolicy::Always, FsyncPolicy::Never}) {
    DecisionStoreOptions o;
    o.journal.path = (dir / "decisions.jsonl").string();
    o.journal.fsync = mode;
    DecisionStore durable(o);
    std::vector<std::string> w;
    std::string e;
    durable.open(0, w, e);
    const int n = 500;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
      durable.apply(PolicyEngine::operator_decision(*policy, fps[static_cast<std::size_t>(i)], Action::Block, "bench", i), "operator", i);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("decision change (table + journal %s): %.1f us each\n", mode == FsyncPolicy::Always ? "fsync always" : "no fsync",
                s * 1e6 / n);
  }
  std::filesystem::remove_all(dir);
}
