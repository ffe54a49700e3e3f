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

void TrafficReader::reset(std::string name) {
  // A reader may be opened again on another file: the buffers and the
  // parser are kept, the position is not (the time watermark is, so that
  // files read one after another form one stream).
  if (file_ && owns_file_) std::fclose(file_);
  file_ = nullptr;
  owns_file_ = false;
  begin_ = end_ = 0;
  eof_ = false;
  line_ = consumed_ = size_ = 0;
  held_.reset();
  pending_.reset();
  path_ = std::move(name);
}

bool TrafficReader::open(const std::string& path) {
  reset(path);
  if (path == "-") {
    file_ = stdin;
    return true;
  }
  file_ = std::fopen(path.c_str(), "rb");
  owns_file_ = true;
  if (!file_) {
    error_ = std::strerror(errno);
    return false;
  }
  std::error_code ec;
  size_ = std::filesystem::file_size(path, ec);
  if (ec) size_ = 0;
  return true;
}

void TrafficReader::open(std::FILE* stream, std::string name) {
  reset(std::move(name));
  file_ = stream;
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

TrafficReader::Result TrafficReader::parse_line(std::string_view line, TrafficRecord& out) {
  // A line read from the file lies in buf_ before end_, and kPadding
  // readable bytes follow end_: simdjson parses it in place. Its strings are
  // copied into the parser's document, so moving the buffer later does not
  // invalidate `out`. A kept line is parsed from its copy.
  const bool in_buffer = line.data() >= buf_.data() && line.data() < buf_.data() + buf_.size();
  simdjson::dom::element root;
  if (const auto error = parse_json(parser_, line, /*padded=*/in_buffer, root); error != simdjson::SUCCESS) {
    error_ = "invalid JSON: ";
    error_ += simdjson::error_message(error);
    return Result::BadLine;
  }
  if (!read_traffic_record(root, out, error_)) return Result::BadLine;
  return Result::Record;
}

TrafficReader::Result TrafficReader::accept(TrafficRecord& out) {
  if (out.ts < last_ts_) ++reordered_;
  last_ts_ = std::max(last_ts_, out.ts);
  return Result::Record;
}

TrafficReader::Result TrafficReader::release_held(TrafficRecord& out) {
  Kept held = std::move(*held_);
  held_.reset();
  line_ = held.line;
  // It was valid when it was read; parsing the same text again gives the same record.
  if (parse_line(held.text, out) != Result::Record) return Result::BadLine;
  return accept(out);
}

TrafficReader::Result TrafficReader::next(TrafficRecord& out) {
  for (;;) {
    std::string_view line;
    std::string kept_text;  // owns a pending line's text for this call
    if (pending_) {
      kept_text = std::move(pending_->text);
      line_ = pending_->line;
      pending_.reset();
      line = kept_text;
    } else {
      for (;;) {
        if (!next_line(line)) return held_ ? release_held(out) : Result::End;  // a jump nothing contradicts
        ++line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") != std::string_view::npos) break;
      }
    }
    if (parse_line(line, out) != Result::Record) return Result::BadLine;
    const double ts = out.ts;

    if (held_) {
      // The line after a jump decides it: close to the jump, the jump was
      // real (the held line first, then this one); far before it, the held
      // line was the odd one out.
      pending_ = Kept{std::string(line), line_, ts};
      if (ts >= held_->ts - max_disorder_) return release_held(out);
      char buf[192];
      std::snprintf(buf, sizeof buf,
                    "timestamp %.3f is %.0f s after the lines around it (more than the %.0f s of disorder allowed)",
                    held_->ts, held_->ts - ts, max_disorder_);
      error_ = buf;
      line_ = held_->line;
      held_.reset();
      return Result::BadLine;
    }
    if (!have_watermark()) return accept(out);  // the first line is the anchor
    if (ts > last_ts_ + max_disorder_) {
      held_ = Kept{std::string(line), line_, ts};
      continue;
    }
    if (ts < last_ts_ - max_disorder_) {
      char buf[192];
      std::snprintf(buf, sizeof buf,
                    "timestamp %.3f is %.0f s earlier than an earlier line's %.3f (more than the %.0f s of disorder allowed)",
                    ts, last_ts_ - ts, last_ts_, max_disorder_);
      error_ = buf;
      return Result::BadLine;
    }
    return accept(out);
  }
}

}  // namespace dg::gateway
