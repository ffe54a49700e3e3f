#pragma once
/// Token accounting on a response as it streams through: fed the body bytes
/// incrementally, in fragments of any size, without holding up the relay.
///
///  - SSE (`text/event-stream`): each event's `data:` JSON is inspected for
///    reported usage (OpenAI chat/completions final chunk `usage`, Responses
///    `response.completed`, Anthropic `message_start` / `message_delta`) and for
///    delta text (chat `delta.content`, completions `text`, Responses
///    `response.output_text.delta`, Anthropic `content_block_delta`).
///  - JSON: a bounded copy of the body is parsed at finish().
/// When the upstream reports no completion tokens, they are estimated from the
/// text at ~4 characters per token and marked estimated.
///
/// Not thread-safe; one scanner per exchange.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dg::gateway {

struct TokenUsage {
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  bool prompt_reported = false;
  bool completion_reported = false;
  bool estimated = false;  ///< completion_tokens were estimated from text
};

class UsageScanner {
 public:
  enum class Mode : std::uint8_t { Sse, Json, Other };
  static constexpr std::size_t kDefaultJsonCap = 4 * 1024 * 1024;
  static constexpr std::size_t kMaxSseLine = 1024 * 1024;

  /// Mode from a response Content-Type.
  static Mode mode_for(std::string_view content_type) noexcept;

  explicit UsageScanner(Mode mode, std::size_t json_cap = kDefaultJsonCap) : mode_(mode), json_cap_(json_cap) {}

  /// Feeds the next body bytes. Returns how many of them should be forwarded:
  /// all of them, unless `budget` is set (SSE only) and an event completed in
  /// this fragment brought the output tokens to the budget; then the count
  /// ends just after that event, and budget_reached() is true (later feeds
  /// are ignored).
  std::size_t feed(std::string_view bytes, std::optional<std::uint64_t> budget = std::nullopt);

  /// Ends the body: parses the JSON copy / a last unterminated SSE event.
  void finish();

  bool budget_reached() const noexcept { return budget_reached_; }
  /// Output tokens so far: the larger of the reported count and the estimate.
  std::uint64_t output_tokens_so_far() const noexcept;
  /// Final accounting (call after finish()).
  TokenUsage usage() const noexcept;
  /// Characters of generated text seen (code points).
  std::uint64_t text_chars() const noexcept { return text_chars_; }
  Mode mode() const noexcept { return mode_; }

 private:
  void on_line(std::string_view line);
  void dispatch_event();
  void inspect_json(std::string_view text, bool whole_body);
  void count_text(std::string_view text) noexcept;

  Mode mode_;
  std::size_t json_cap_;
  std::string json_copy_;
  bool json_truncated_ = false;
  std::string line_;        ///< partial SSE line carried between feeds
  bool line_too_long_ = false;
  std::string event_data_;  ///< data lines of the current event
  bool finished_ = false;
  bool budget_reached_ = false;
  std::uint64_t text_chars_ = 0;
  TokenUsage usage_;
};

}  // namespace dg::gateway
