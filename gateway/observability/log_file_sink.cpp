#include "gateway/observability/log_file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dg::gateway {

LogFileSink::LogFileSink(std::string path) : path_(std::move(path)) {
  open_file();
  if (fd_ < 0) throw std::runtime_error(path_ + ": cannot open log file for appending: " + std::strerror(errno));
}

LogFileSink::~LogFileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void LogFileSink::open_file() {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void LogFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (reopen_.exchange(false, std::memory_order_acq_rel) || fd_ < 0) open_file();
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0 && fd_ >= 0) {
    const auto n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (left > 0) failures_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dg::gateway
