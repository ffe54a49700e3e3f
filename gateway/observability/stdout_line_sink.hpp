#pragma once
/// The access log's sink on standard output when no access file is set: a
/// worker only formats its line and appends it to a buffer; a thread of the
/// sink's own writes what has gathered (one write and flush per batch, not
/// per line), so no worker waits on stdout or makes a write syscall per
/// request. Lines keep their order; what is buffered is written on flush()
/// and when the sink is destroyed.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/sinks/base_sink.h>

namespace dg::gateway {

class StdoutLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StdoutLineSink();
  ~StdoutLineSink() override;
  StdoutLineSink(const StdoutLineSink&) = delete;
  StdoutLineSink& operator=(const StdoutLineSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;  // under base_sink's mutex_
  void flush_() override;                                        // under base_sink's mutex_

 private:
  void run();
  /// Takes what is pending (under mutex_, held by `lock`) and writes it with
  /// `lock` released; write_mu_ keeps batches in order.
  void write_pending(std::unique_lock<std::mutex>& lock);

  std::string pending_;  ///< under mutex_
  bool stop_ = false;    ///< under mutex_
  bool idle_ = false;    ///< under mutex_: the thread waits for a line
  std::condition_variable wake_;
  std::mutex write_mu_;
  std::string writing_;  ///< under write_mu_
  std::thread thread_;
};

}  // namespace dg::gateway
