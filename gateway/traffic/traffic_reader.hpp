#pragma once
/// Reads traffic files line by line for replay: big buffered reads, and one
/// reused simdjson parser that reads each line in place (the buffer keeps
/// simdjson::SIMDJSON_PADDING bytes after its data), so parsing allocates
/// nothing per record once the buffers have grown to the longest line.

#include <simdjson.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/traffic/traffic_record.hpp"

namespace dg::gateway {

class TrafficReader {
 public:
  enum class Result { Record, BadLine, End };

  /// `chunk`: bytes per read (the buffer doubles when one line is longer).
  explicit TrafficReader(std::size_t chunk = kDefaultChunk);
  ~TrafficReader();
  TrafficReader(const TrafficReader&) = delete;
  TrafficReader& operator=(const TrafficReader&) = delete;

  static constexpr std::size_t kDefaultChunk = 4 << 20;

  /// Opens `path` ("-" reads standard input). False (and error()) when it cannot be opened.
  bool open(const std::string& path);

  /// Reads the next non-empty line. On Record, `out` is valid until the next
  /// call. On BadLine, error() holds the reason and line() the line number.
  /// Out-of-order timestamps (earlier than the previous good line of this
  /// file) are bad lines.
  Result next(TrafficRecord& out);

  std::uint64_t line() const { return line_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  /// Bytes consumed so far and the file size (0 when unknown), for progress.
  std::uint64_t bytes_read() const { return consumed_; }
  std::uint64_t file_size() const { return size_; }
  /// The time of the last good record; seed it with the previous file's so
  /// that several files form one non-decreasing stream.
  double last_ts() const { return last_ts_; }
  void set_last_ts(double ts) { last_ts_ = ts; }

 private:
  bool next_line(std::string_view& line);

  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::string path_;
  // Data in [begin_, end_); the last SIMDJSON_PADDING bytes of buf_ are never
  // filled, so every line is followed by that many readable bytes.
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::uint64_t line_ = 0, consumed_ = 0, size_ = 0;
  std::string error_;
  double last_ts_ = -1e300;
  simdjson::dom::parser parser_;
};

}  // namespace dg::gateway
