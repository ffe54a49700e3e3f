#include "gateway/fleet/counter_sync.hpp"

#include <hiredis/hiredis.h>

#include <cmath>
#include <memory>
#include <string_view>

#include "gateway/fleet/counter_wire.hpp"

namespace dg::gateway::fleet {

namespace {

CounterKind wire_kind(SharedCounterKind k) {
  return k == SharedCounterKind::Throttle ? CounterKind::Throttle : CounterKind::Budget;
}

bool is_noscript(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT");
}

}  // namespace

CounterSync::CounterSync(boost::asio::io_context& control, SharedCounters& counters, std::string prefix,
                         std::string instance, std::chrono::milliseconds period, std::function<double()> clock)
    : counters_(counters),
      prefix_(std::move(prefix)),
      instance_(std::move(instance)),
      period_(period),
      clock_(std::move(clock)),
      timer_(control) {}

void CounterSync::start(Send send) {
  send_ = std::move(send);
  const auto gen = ++gen_;
  in_flight_ = false;
  counters_.rewrite_all();
  flush(gen);
  tick(gen);
}

void CounterSync::stop() {
  ++gen_;
  send_ = nullptr;
  in_flight_ = false;
  timer_.cancel();
}

void CounterSync::tick(std::uint64_t gen) {
  timer_.expires_after(period_);
  timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != gen_) return;
    if (!in_flight_) flush(gen);
    tick(gen);
  });
}

void CounterSync::flush(std::uint64_t gen) {
  auto updates = counters_.take(clock_());
  if (updates.empty()) return;
  in_flight_ = true;
  auto outstanding = std::make_shared<std::size_t>(0);
  for (std::size_t at = 0; at < updates.size(); at += kMaxBatch) {
    const auto end = std::min(updates.size(), at + kMaxBatch);
    auto batch = std::make_shared<std::vector<SharedCounters::Update>>(
        std::make_move_iterator(updates.begin() + static_cast<std::ptrdiff_t>(at)),
        std::make_move_iterator(updates.begin() + static_cast<std::ptrdiff_t>(end)));
    ++*outstanding;
    send_batch(gen, std::move(batch), true, outstanding);
    if (gen != gen_) return;  // the send failed and the session is gone
  }
}

void CounterSync::send_batch(std::uint64_t gen, std::shared_ptr<std::vector<SharedCounters::Update>> batch,
                             bool by_sha, std::shared_ptr<std::size_t> outstanding) {
  std::vector<CounterUpdate> wire;
  wire.reserve(batch->size());
  for (const auto& u : *batch) {
    const double window_ms = std::round(u.window_s * 1000);
    // Two windows: the previous one is still read for the sliding estimate.
    wire.push_back({counter_key(prefix_, wire_kind(u.kind), u.key_fp, u.window_s, u.index), u.write ? u.own : -1,
                    static_cast<std::int64_t>(2 * window_ms)});
  }
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  stats_.windows.fetch_add(batch->size(), std::memory_order_relaxed);
  auto done = [this, gen, batch, by_sha, outstanding](const redisReply* r) {
    if (gen != gen_) {
      for (const auto& u : *batch) counters_.retry(u);
      return;
    }
    if (by_sha && is_noscript(r)) return send_batch(gen, batch, false, outstanding);  // Redis restarted: EVAL loads it
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == batch->size()) {
      for (std::size_t i = 0; i < batch->size(); ++i) {
        const auto* e = r->element[i];
        if (e->type == REDIS_REPLY_INTEGER) counters_.settle((*batch)[i], static_cast<double>(e->integer));
      }
    } else {
      if (r) stats_.errors.fetch_add(1, std::memory_order_relaxed);
      for (const auto& u : *batch) counters_.retry(u);
    }
    batch_done(gen, outstanding);
  };
  if (!send_ || !send_(counter_command(instance_, wire, by_sha), std::move(done))) {
    for (const auto& u : *batch) counters_.retry(u);
    batch_done(gen, outstanding);
  }
}

void CounterSync::batch_done(std::uint64_t gen, std::shared_ptr<std::size_t> outstanding) {
  if (--*outstanding > 0 || gen != gen_) return;
  in_flight_ = false;
  stats_.flushes.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dg::gateway::fleet
