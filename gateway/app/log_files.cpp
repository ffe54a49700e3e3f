#include "gateway/app/log_files.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/observability/log_file_sink.hpp"

namespace dg::gateway {

namespace {
constexpr std::size_t kQueuedLines = 8192;
}

std::unique_ptr<LogFiles> LogFiles::install(const config::LogConfig& log) {
  std::unique_ptr<LogFiles> f(new LogFiles());
  if (log.file.empty() && log.access_file.empty()) return f;
  if (!log.file.empty()) f->service_sink_ = std::make_shared<LogFileSink>(log.file);
  if (!log.access_file.empty()) f->access_sink_ = std::make_shared<LogFileSink>(log.access_file);
  f->pool_ = std::make_shared<spdlog::details::thread_pool>(kQueuedLines, 1);
  if (f->service_sink_) {
    f->service_ = std::make_shared<spdlog::async_logger>("", f->service_sink_, f->pool_,
                                                         spdlog::async_overflow_policy::overrun_oldest);
    spdlog::set_default_logger(f->service_);  // takes the global level and pattern set after this
  }
  if (f->access_sink_) {
    spdlog::drop("access");
    f->access_ = std::make_shared<spdlog::async_logger>("access", f->access_sink_, f->pool_,
                                                        spdlog::async_overflow_policy::overrun_oldest);
    spdlog::initialize_logger(f->access_);
  }
  return f;
}

LogFiles::~LogFiles() {
  if (service_)
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  if (access_) spdlog::drop("access");
  service_.reset();
  access_.reset();
  pool_.reset();  // the logging thread writes what is queued, then ends
}

void LogFiles::reopen() {
  if (service_sink_) service_sink_->request_reopen();
  if (access_sink_) access_sink_->request_reopen();
}

}  // namespace dg::gateway
