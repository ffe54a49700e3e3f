#pragma once
/// The capture log: one traffic record (docs/traffic-format.md) per finished
/// exchange, appended as JSON Lines by a dedicated writer thread, so workers
/// only take a short mutex to enqueue and never wait on the disk. The key is
/// written as its fingerprint; prompt text only with include_content
/// (capture_record.hpp).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/observability/capture_record.hpp"

namespace dg::gateway {

class CaptureLog {
 public:
  static constexpr std::size_t kMaxQueued = 100'000;

  /// Opens `path` for appending. Throws std::runtime_error when it cannot.
  CaptureLog(const std::string& path, bool include_content);
  ~CaptureLog();
  CaptureLog(const CaptureLog&) = delete;
  CaptureLog& operator=(const CaptureLog&) = delete;

  bool include_content() const noexcept { return include_content_; }

  /// Thread-safe; never blocks on I/O. Drops (and counts) when the queue is
  /// full; returns false then.
  bool append(std::string line);
  /// Blocks until everything queued so far is written (tests, shutdown).
  void flush();
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();

  std::FILE* file_ = nullptr;
  bool include_content_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  std::uint64_t enqueued_ = 0;
  std::uint64_t written_ = 0;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace dg::gateway
