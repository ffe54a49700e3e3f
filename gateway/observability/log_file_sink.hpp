#pragma once
/// An spdlog sink on a file that an operator can rotate: each formatted line
/// is appended whole (O_APPEND, so lines never interleave with another
/// writer's; a torn line is cut off again), and request_reopen() makes the next line reopen the
/// file by its path first (nginx's USR1: `mv access.log access.log.1;
/// kill -USR1 PID` and new lines go to a new access.log). Meant to sit behind
/// an spdlog async logger, so the reopen and the writes happen on the logging
/// thread, never on a worker.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "gateway/files/append_file.hpp"

namespace dg::gateway {

class LogFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// Opens `path` for appending; throws std::runtime_error when it cannot.
  explicit LogFileSink(std::string path);
  ~LogFileSink() override;

  /// Thread-safe; the reopen happens before the next line is written.
  void request_reopen() noexcept { reopen_.store(true, std::memory_order_release); }
  const std::string& path() const noexcept { return file_.path(); }
  /// Lines that could not be written (disk full, no file).
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  AppendFile file_;  ///< under base_sink's mutex
  std::atomic<bool> reopen_{false};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace dg::gateway
