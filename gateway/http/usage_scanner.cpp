#include "gateway/http/usage_scanner.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace dg::gateway {

namespace json = boost::json;

namespace {

std::optional<std::uint64_t> uint_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  // A token count as a double (1e3) is read; one past 2^64 (or NaN) is no count
  // (converting it would be undefined behaviour).
  if (v->is_double() && v->get_double() >= 0 && v->get_double() < 18446744073709551616.0)
    return static_cast<std::uint64_t>(v->get_double());
  return std::nullopt;
}

const json::object* object_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string_view string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

UsageScanner::Mode UsageScanner::mode_for(std::string_view content_type) noexcept {
  std::string lower(content_type.substr(0, std::min<std::size_t>(content_type.size(), 64)));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("text/event-stream") != std::string::npos) return Mode::Sse;
  if (lower.find("json") != std::string::npos) return Mode::Json;
  return Mode::Other;
}

void UsageScanner::count_text(std::string_view text) noexcept {
  // Code points, not bytes: UTF-8 continuation bytes are 10xxxxxx.
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++text_chars_;
}

std::uint64_t UsageScanner::output_tokens_so_far() const noexcept {
  const std::uint64_t estimate = (text_chars_ + 3) / 4;
  return std::max(usage_.completion_tokens, estimate);
}

TokenUsage UsageScanner::usage() const noexcept {
  TokenUsage u = usage_;
  // Usage reported with prompt tokens only and no generated text (embeddings):
  // nothing was generated, so zero is exact, not an estimate.
  if (!u.completion_reported && u.prompt_reported && text_chars_ == 0) return u;
  if (!u.completion_reported) {
    u.completion_tokens = (text_chars_ + 3) / 4;
    u.estimated = true;
  }
  return u;
}

std::size_t UsageScanner::feed(std::string_view bytes, std::optional<std::uint64_t> budget) {
  if (finished_ || budget_reached_) return bytes.size();
  if (mode_ == Mode::Json) {
    const auto room = json_cap_ - std::min(json_cap_, json_copy_.size());
    if (bytes.size() > room) json_truncated_ = true;
    json_copy_.append(bytes.substr(0, room));
    return bytes.size();
  }
  if (mode_ != Mode::Sse) return bytes.size();
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) {
      const auto rest = bytes.substr(pos);
      if (line_.size() + rest.size() > kMaxSseLine) line_too_long_ = true;  // drop, keep relaying
      else line_.append(rest);
      break;
    }
    const auto piece = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    if (line_too_long_) {
      line_too_long_ = false;
      line_.clear();
      continue;
    }
    std::string_view full = piece;
    if (!line_.empty()) {
      line_.append(piece);
      full = line_;
    }
    const bool was_blank_event_end = full.empty() || full == "\r";
    on_line(full);
    line_.clear();
    if (was_blank_event_end && budget && output_tokens_so_far() >= *budget) {
      budget_reached_ = true;
      return pos;
    }
  }
  return bytes.size();
}

void UsageScanner::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    dispatch_event();
    return;
  }
  if (!line.starts_with("data:")) return;  // event:, id:, retry:, comments
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (!event_data_.empty()) event_data_.push_back('\n');
  if (event_data_.size() + line.size() <= kMaxSseLine) event_data_.append(line);
}

void UsageScanner::dispatch_event() {
  if (event_data_.empty()) return;
  if (event_data_ != "[DONE]") inspect_json(event_data_, false);
  event_data_.clear();
}

void UsageScanner::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == Mode::Sse) {
    if (!line_.empty() && !line_too_long_) on_line(line_);
    line_.clear();
    dispatch_event();
  } else if (mode_ == Mode::Json && !json_truncated_ && !json_copy_.empty()) {
    inspect_json(json_copy_, true);
    json_copy_.clear();
    json_copy_.shrink_to_fit();
  }
}

void UsageScanner::inspect_json(std::string_view text, bool whole_body) {
  boost::system::error_code ec;
  const auto value = json::parse(text, ec);
  if (ec || !value.is_object()) return;
  const auto& o = value.get_object();

  auto take_usage = [this](const json::object& u) {
    // OpenAI names (prompt/completion) and Responses/Anthropic names (input/output);
    // only fields present are taken (Anthropic message_delta carries output only).
    if (auto v = uint_field(u, "prompt_tokens")) usage_.prompt_tokens = *v, usage_.prompt_reported = true;
    if (auto v = uint_field(u, "input_tokens")) usage_.prompt_tokens = *v, usage_.prompt_reported = true;
    if (auto v = uint_field(u, "completion_tokens")) usage_.completion_tokens = *v, usage_.completion_reported = true;
    if (auto v = uint_field(u, "output_tokens")) usage_.completion_tokens = *v, usage_.completion_reported = true;
  };
  const auto type = string_field(o, "type");

  if (const auto* u = object_field(o, "usage")) take_usage(*u);
  if (const auto* r = object_field(o, "response"))  // Responses: response.completed / incomplete
    if (const auto* u = object_field(*r, "usage")) take_usage(*u);
  if (type == "message_start")
    if (const auto* m = object_field(o, "message"))
      if (const auto* u = object_field(*m, "usage")) {
        // message_start's output_tokens is a placeholder (1); the real count
        // arrives in message_delta, so take only the input side here.
        if (auto v = uint_field(*u, "input_tokens")) usage_.prompt_tokens = *v, usage_.prompt_reported = true;
      }

  // Generated text, for the estimate and the budget.
  if (type == "response.output_text.delta" || type == "response.reasoning_text.delta") {
    count_text(string_field(o, "delta"));
  } else if (type == "content_block_delta") {
    if (const auto* d = object_field(o, "delta")) {
      count_text(string_field(*d, "text"));
      count_text(string_field(*d, "thinking"));
      count_text(string_field(*d, "partial_json"));
    }
  }
  if (const auto* choices = o.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& ch : choices->get_array()) {
      if (!ch.is_object()) continue;
      const auto& c = ch.get_object();
      count_text(string_field(c, "text"));
      const auto* d = object_field(c, whole_body ? "message" : "delta");
      if (d) {
        count_text(string_field(*d, "content"));
        count_text(string_field(*d, "reasoning_content"));
      }
    }
  }
  if (whole_body) {
    if (const auto* content = o.if_contains("content"); content && content->is_array())  // Anthropic
      for (const auto& b : content->get_array())
        if (b.is_object()) count_text(string_field(b.get_object(), "text"));
    if (const auto* output = o.if_contains("output"); output && output->is_array())  // Responses
      for (const auto& item : output->get_array())
        if (item.is_object())
          if (const auto* content = item.get_object().if_contains("content"); content && content->is_array())
            for (const auto& b : content->get_array())
              if (b.is_object()) count_text(string_field(b.get_object(), "text"));
  }
}

}  // namespace dg::gateway
