#pragma once
/// Reads traffic files line by line for replay: big buffered reads, and one
/// reused simdjson parser that reads each line in place (the buffer keeps
/// simdjson::SIMDJSON_PADDING bytes after its data), so parsing allocates
/// nothing per record once the buffers have grown to the longest line.

#include <simdjson.h>

#include <cstdio>
#include <optional>
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

  /// Opens `path` ("-" reads standard input). False (and error()) when it
  /// cannot be opened. Opening again moves to another file: buffers are
  /// reused, the time watermark carries over (set_last_ts resets it).
  bool open(const std::string& path);
  /// Reads an open stream the caller owns (it is not closed), named `name`
  /// in errors; the same reuse rules as open(path).
  void open(std::FILE* stream, std::string name);

  /// Reads the next non-empty line. On Record, `out` is valid until the next
  /// call. On BadLine, error() holds the reason and line() the line number.
  ///
  /// Order: records may come up to max_disorder() seconds earlier than the
  /// latest good one (the proxy's capture log writes an exchange when it
  /// ends, stamped with its arrival); earlier than that is a bad line. A line
  /// more than max_disorder() after the latest is held until the next good
  /// line confirms the jump (it is then returned, followed by that line); a
  /// lone far-future timestamp is a bad line, so it cannot make every later
  /// line "out of order". (The first line of a stream is its anchor: a
  /// far-future first line still makes the lines after it bad.)
  Result next(TrafficRecord& out);

  /// Tolerated disorder in seconds (default kDefaultMaxDisorder).
  void set_max_disorder(double seconds) { max_disorder_ = seconds; }
  double max_disorder() const { return max_disorder_; }
  static constexpr double kDefaultMaxDisorder = 3600;
  /// Good records that came earlier than a previous one (within the window).
  std::uint64_t reordered() const { return reordered_; }

  std::uint64_t line() const { return line_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  /// Bytes consumed so far and the file size (0 when unknown), for progress.
  std::uint64_t bytes_read() const { return consumed_; }
  std::uint64_t file_size() const { return size_; }
  /// The latest time of the good records so far; seed it with the previous
  /// file's so that several files form one stream.
  double last_ts() const { return last_ts_; }
  void set_last_ts(double ts) { last_ts_ = ts; }

 private:
  /// A line kept aside (copied) while the order around a jump is decided.
  struct Kept {
    std::string text;
    std::uint64_t line = 0;
    double ts = 0;
  };
  void reset(std::string name);
  bool next_line(std::string_view& line);
  /// Parses and validates `line` into `out` (BadLine with error_ set).
  Result parse_line(std::string_view line, TrafficRecord& out);
  Result release_held(TrafficRecord& out);
  Result accept(TrafficRecord& out);
  bool have_watermark() const { return last_ts_ > -1e299; }

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
  double max_disorder_ = kDefaultMaxDisorder;
  std::uint64_t reordered_ = 0;
  std::optional<Kept> held_;     ///< a jump forward awaiting confirmation
  std::optional<Kept> pending_;  ///< the line read after it, to be returned next
  simdjson::dom::parser parser_;
};

}  // namespace dg::gateway
