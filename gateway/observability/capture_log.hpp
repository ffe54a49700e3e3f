#pragma once
/// The capture log: one traffic record (docs/traffic-format.md) per finished
/// exchange, appended as JSON Lines by a dedicated writer thread, so workers
/// only take a short mutex to enqueue and never wait on the disk. The key is
/// written as its fingerprint; prompt text only with include_content
/// (capture_record.hpp).
///
/// Files: the writer alone opens, writes, rotates and reopens them.
///  - Size-based rotation (`max_bytes` > 0): once the file reaches max_bytes it
///    is renamed `path.1` (`path.1` -> `path.2` ..., the oldest beyond `keep`
///    removed) and a new `path` is started, between two records.
///  - reopen(): the next write goes to a file opened anew by its path (after
///    an external rotation: `mv capture.jsonl capture.jsonl.1; kill -USR1`).
///  - A failed write (disk full, file size limit) loses that record, counted
///    in write_failures(); a partial line is cut off, so the file stays valid
///    JSON Lines; serving is never affected.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/files/append_file.hpp"
#include "gateway/observability/capture_record.hpp"

namespace dg::gateway {

struct CaptureOptions {
  std::string path;
  bool include_content = false;
  std::uint64_t max_bytes = 0;  ///< rotate when the file reaches this size; 0 = never
  unsigned keep = 5;            ///< rotated files kept (path.1 .. path.keep)
};

class CaptureLog {
 public:
  static constexpr std::size_t kMaxQueued = 100'000;

  /// Opens `path` for appending. Throws std::runtime_error when it cannot.
  explicit CaptureLog(CaptureOptions options);
  CaptureLog(const std::string& path, bool include_content)
      : CaptureLog(CaptureOptions{path, include_content, 0, 5}) {}
  ~CaptureLog();
  CaptureLog(const CaptureLog&) = delete;
  CaptureLog& operator=(const CaptureLog&) = delete;

  bool include_content() const noexcept { return options_.include_content; }

  /// Thread-safe; never blocks on I/O. Drops (and counts) when the queue is
  /// full; returns false then.
  bool append(std::string line);
  /// Blocks until everything queued so far is written (tests, shutdown).
  void flush();
  /// Asks the writer to reopen the file by its path before its next write
  /// (SIGUSR1). Thread-safe, returns at once.
  void reopen();

  /// Records dropped because the queue was full.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// Records lost to a failed write (or no open file).
  std::uint64_t write_failures() const noexcept { return write_failures_.load(std::memory_order_relaxed); }
  std::uint64_t rotations() const noexcept { return rotations_.load(std::memory_order_relaxed); }
  std::uint64_t reopens() const noexcept { return reopens_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Writer thread only:
  void write_out(std::string& out, std::size_t lines);
  void rotate();

  CaptureOptions options_;
  AppendFile file_;  ///< writer thread (and the constructor, before it starts)
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  std::uint64_t enqueued_ = 0;
  std::uint64_t written_ = 0;
  bool stopping_ = false;
  bool reopen_requested_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<std::uint64_t> rotations_{0};
  std::atomic<std::uint64_t> reopens_{0};
  std::thread writer_;
};

}  // namespace dg::gateway
