#include "gateway/observability/capture_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace dg::gateway {

namespace {

constexpr std::size_t kWriteChunk = 64 * 1024;

}  // namespace

CaptureLog::CaptureLog(CaptureOptions options) : options_(std::move(options)), file_(options_.path) {
  if (options_.keep == 0) options_.keep = 1;
  if (!file_.open())
    throw std::runtime_error(options_.path + ": cannot open capture log for appending: " + std::strerror(errno));
  writer_ = std::thread([this] { run(); });
}

CaptureLog::~CaptureLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
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

void CaptureLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_requested_ = true;
  }
  wake_.notify_one();
}

void CaptureLog::write_out(std::string& out, std::size_t lines) {
  if (out.empty()) return;
  // Opens the file again when it went away (or never opened); a torn batch
  // is cut off, so the next record starts a line of its own.
  if (!file_.append(out)) write_failures_.fetch_add(lines, std::memory_order_relaxed);
  out.clear();
}

void CaptureLog::rotate() {
  file_.close();
  const auto& p = options_.path;
  // path.(keep-1) -> path.keep ... path.1 -> path.2, path -> path.1 (rename
  // replaces the oldest).
  for (unsigned i = options_.keep; i > 1; --i)
    std::rename((p + "." + std::to_string(i - 1)).c_str(), (p + "." + std::to_string(i)).c_str());
  std::rename(p.c_str(), (p + ".1").c_str());
  rotations_.fetch_add(1, std::memory_order_relaxed);
  file_.open();
}

void CaptureLog::run() {
  std::deque<std::string> batch;
  std::string out;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || reopen_requested_ || !queue_.empty(); });
    if (queue_.empty() && !reopen_requested_ && stopping_) break;
    const bool reopen_now = reopen_requested_;
    reopen_requested_ = false;
    batch.swap(queue_);
    lock.unlock();
    if (reopen_now) {
      file_.open();
      reopens_.fetch_add(1, std::memory_order_relaxed);
    }
    std::size_t lines = 0;
    for (const auto& line : batch) {
      out += line;
      ++lines;
      if (options_.max_bytes > 0 && file_.size() + out.size() >= options_.max_bytes) {
        write_out(out, lines);
        lines = 0;
        rotate();
      } else if (out.size() >= kWriteChunk) {
        write_out(out, lines);
        lines = 0;
      }
    }
    write_out(out, lines);
    const auto n = batch.size();
    batch.clear();
    lock.lock();
    written_ += n;
    drained_.notify_all();
  }
}

}  // namespace dg::gateway
