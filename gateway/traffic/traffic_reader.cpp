#include "gateway/traffic/traffic_reader.hpp"

#include "gateway/traffic/simd_json.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

namespace dg::gateway {

namespace {
constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;
}

TrafficReader::TrafficReader(std::size_t chunk) {
  buf_.resize(std::max<std::size_t>(chunk, 1) + kPadding);
  if (prepare_json_parser(parser_) != simdjson::SUCCESS) throw std::bad_alloc();
}

TrafficReader::~TrafficReader() {
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
    // Move the partial line to the front; grow when one line fills the
    // buffer. Reads never fill the last kPadding bytes.
    const std::size_t partial = end_ - begin_;
    if (begin_ > 0) std::memmove(buf_.data(), start, partial);
    begin_ = 0;
    end_ = partial;
    const std::size_t data_capacity = buf_.size() - kPadding;
    if (end_ == data_capacity) buf_.resize(2 * data_capacity + kPadding);
    const std::size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - kPadding - end_, file_);
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
  // The line lies in buf_ before end_, and kPadding readable bytes follow
  // end_: simdjson parses it in place. Its strings are copied into the
  // parser's document, so moving the buffer later does not invalidate `out`.
  simdjson::dom::element root;
  if (const auto error = parse_json(parser_, line, /*padded=*/true, root); error != simdjson::SUCCESS) {
    error_ = "invalid JSON: ";
    error_ += simdjson::error_message(error);
    return Result::BadLine;
  }
  if (!read_traffic_record(root, out, error_)) return Result::BadLine;
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
