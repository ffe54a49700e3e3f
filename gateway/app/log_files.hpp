#pragma once
/// The service and access log files (`log.file`, `log.access_file`): spdlog
/// async loggers with one logging thread of their own (workers enqueue a
/// line and never touch the file; when the queue is full the oldest line is
/// dropped rather than a worker waiting), on LogFileSinks that reopen by
/// path on SIGUSR1.
///
///   auto files = LogFiles::install(cfg.proxy.log);  // before the proxy creates its access logger
///   ...                                             // SIGUSR1: files->reopen();
///   files.reset();                                  // drains; service lines go back to stderr
///
/// Without either option nothing changes (stderr and stdout, written inline).

#include <memory>
#include <string>

#include "config/proxy_config.hpp"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace dg::gateway {

class LogFileSink;

class LogFiles {
 public:
  /// Registers the file loggers. Throws std::runtime_error when a file cannot be opened.
  static std::unique_ptr<LogFiles> install(const config::LogConfig& log);
  ~LogFiles();
  LogFiles(const LogFiles&) = delete;
  LogFiles& operator=(const LogFiles&) = delete;

  /// Both files are reopened by path before their next line (thread-safe).
  void reopen();

 private:
  LogFiles() = default;
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<LogFileSink> service_sink_, access_sink_;
  std::shared_ptr<spdlog::logger> service_, access_;
};

}  // namespace dg::gateway
