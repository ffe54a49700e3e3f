#include "gateway/observability/stdout_line_sink.hpp"

#include <cstdio>

namespace dg::gateway {

StdoutLineSink::StdoutLineSink() : thread_([this] { run(); }) {}

StdoutLineSink::~StdoutLineSink() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();  // writes what is still pending first
}

void StdoutLineSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  pending_.append(formatted.data(), formatted.size());
  if (idle_) {
    idle_ = false;
    wake_.notify_one();
  }
}

void StdoutLineSink::flush_() {
  // mutex_ is held by base_sink; write_pending needs a unique_lock over it.
  std::unique_lock<std::mutex> lock(mutex_, std::adopt_lock);
  write_pending(lock);
  lock.release();  // base_sink unlocks it
}

void StdoutLineSink::write_pending(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  {
    std::lock_guard<std::mutex> w(write_mu_);
    lock.lock();
    writing_.swap(pending_);
    lock.unlock();
    if (!writing_.empty()) {
      std::fwrite(writing_.data(), 1, writing_.size(), stdout);
      std::fflush(stdout);
      writing_.clear();
    }
  }
  lock.lock();
}

void StdoutLineSink::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (pending_.empty()) {
      if (stop_) return;
      idle_ = true;
      wake_.wait(lock, [this] { return !idle_ || stop_; });
      idle_ = false;
      continue;
    }
    write_pending(lock);
  }
}

}  // namespace dg::gateway
