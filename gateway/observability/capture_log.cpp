#include "gateway/observability/capture_log.hpp"

#include <stdexcept>

namespace dg::gateway {

CaptureLog::CaptureLog(const std::string& path, bool include_content) : include_content_(include_content) {
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) throw std::runtime_error(path + ": cannot open capture log for appending");
  writer_ = std::thread([this] { run(); });
}

CaptureLog::~CaptureLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  std::fclose(file_);
}

bool CaptureLog::append(std::string line) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    line.push_back('\n');
    queue_.push_back(std::move(line));
    ++enqueued_;
  }
  wake_.notify_one();
  return true;
}

void CaptureLog::flush() {
  std::unique_lock lock(mutex_);
  const auto target = enqueued_;
  drained_.wait(lock, [&] { return written_ >= target; });
}

void CaptureLog::run() {
  std::deque<std::string> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) break;
    batch.swap(queue_);
    lock.unlock();
    for (const auto& line : batch)
      if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) dropped_.fetch_add(1, std::memory_order_relaxed);
    std::fflush(file_);
    const auto n = batch.size();
    batch.clear();
    lock.lock();
    written_ += n;
    drained_.notify_all();
  }
}

}  // namespace dg::gateway
