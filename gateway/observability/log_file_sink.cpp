#include "gateway/observability/log_file_sink.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dg::gateway {

LogFileSink::LogFileSink(std::string path) : file_(std::move(path), 0640) {
  if (!file_.open())
    throw std::runtime_error(file_.path() + ": cannot open log file for appending: " + std::strerror(errno));
}

LogFileSink::~LogFileSink() = default;

void LogFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (reopen_.exchange(false, std::memory_order_acq_rel)) file_.open();
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  // Opens the file again when it is closed (a failed reopen, a failed cut).
  if (!file_.append(std::string_view(line.data(), line.size()))) failures_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dg::gateway
