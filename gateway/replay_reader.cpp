#include "gateway/replay_reader.hpp"

#include <boost/json.hpp>

#include <cstring>
#include <filesystem>

namespace dg::gateway {

namespace json = boost::json;

namespace {
constexpr std::size_t kChunk = 4 << 20;
}

namespace {
constexpr std::size_t kArenaBytes = 256 * 1024;
}

TrafficReader::TrafficReader() : arena_buf_(std::make_unique<unsigned char[]>(kArenaBytes)) {
  buf_.resize(kChunk);
}

TrafficReader::~TrafficReader() {
  value_ = json::value();
  parser_.reset();
  if (file_ && owns_file_) std::fclose(file_);
}

bool TrafficReader::open(const std::string& path) {
  path_ = path;
  if (path == "-") {
    file_ = stdin;
    owns_file_ = false;
  } else {
    file_ = std::fopen(path.c_str(), "rb");
    owns_file_ = true;
    if (!file_) {
      error_ = std::strerror(errno);
      return false;
    }
    std::error_code ec;
    size_ = std::filesystem::file_size(path, ec);
    if (ec) size_ = 0;
  }
  return true;
}

bool TrafficReader::next_line(std::string_view& line) {
  for (;;) {
    const char* start = buf_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
      line = std::string_view(start, len);
      begin_ += len + 1;
      consumed_ += len + 1;
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      line = std::string_view(start, end_ - begin_);  // last line without a newline
      consumed_ += end_ - begin_;
      begin_ = end_;
      return true;
    }
    // Move the partial line to the front; grow when one line fills the buffer.
    const std::size_t partial = end_ - begin_;
    if (begin_ > 0) std::memmove(buf_.data(), start, partial);
    begin_ = 0;
    end_ = partial;
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    const std::size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
    end_ += got;
    if (got == 0) eof_ = true;
  }
}

TrafficReader::Result TrafficReader::next(TrafficRecord& out) {
  std::string_view line;
  for (;;) {
    if (!next_line(line)) return Result::End;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) break;
  }
  // Release the previous line's value and arena before parsing the next.
  value_ = json::value();
  parser_.reset();
  arena_.reset();
  arena_.emplace(arena_buf_.get(), kArenaBytes);
  parser_.reset(json::storage_ptr(&*arena_));
  json::error_code ec;
  parser_.write(line.data(), line.size(), ec);
  if (ec) {
    parser_.reset();
    error_ = "invalid JSON: " + ec.message();
    return Result::BadLine;
  }
  value_ = parser_.release();
  if (!read_traffic_record(value_, out, error_)) return Result::BadLine;
  if (out.ts < last_ts_) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "timestamp %.3f is earlier than the previous line's %.3f (lines must be in ts order)",
                  out.ts, last_ts_);
    error_ = buf;
    return Result::BadLine;
  }
  last_ts_ = out.ts;
  return Result::Record;
}

}  // namespace dg::gateway
