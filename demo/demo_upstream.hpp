#pragma once
/// DemoUpstream: an in-process OpenAI-compatible server for the demo, the
/// tests and the benchmarks. It answers chat completions, completions, the
/// Responses API, embeddings, Anthropic messages and the model list, streamed
/// or not, with deterministic text, realistic usage, and a configurable pace.
///
/// Per-request overrides (headers): x-demo-latency-ms, x-demo-token-interval-ms,
/// x-demo-completion-tokens, x-demo-status (an error status to inject),
/// x-demo-abort-after-tokens (a stream drops its connection after K tokens).
/// Every request outside /demo/ is recorded (any path, any method);
/// GET /demo/received returns the recorded parameters of the last requests,
/// DELETE /demo/received clears them, GET /demo/stats returns the
/// connection and stream counters, GET /demo/health answers {"status":"ok"}.
///
/// Thread-safety: all public member functions may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "demo/demo_request.hpp"

namespace dg::demo {

/// Start-up options; the pace options are defaults that the x-demo-* request
/// headers override per request.
struct DemoUpstreamOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port (see DemoUpstream::port())
  std::size_t workers = 1;  ///< threads, one io_context each
  std::chrono::milliseconds latency{0};         ///< before the first byte of a response
  std::chrono::milliseconds token_interval{0};  ///< between two streamed tokens
  std::optional<std::int64_t> completion_tokens;  ///< fixed answer length (default: from the prompt hash)
  std::size_t record_capacity = 1024;             ///< received requests kept for received()
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  std::vector<std::string> models = {"gpt-4o-mini", "gpt-4o", "o3-mini", "text-embedding-3-small",
                                     "claude-3-5-sonnet-latest", "demo-model"};
};

/// Connection and stream counters, e.g. to check that a proxy closed its
/// upstream connection when its client went away mid-stream.
struct DemoUpstreamStats {
  std::uint64_t connections_total = 0;  ///< accepted since start
  std::uint64_t connections_open = 0;
  std::uint64_t streams_started = 0;
  std::uint64_t streams_completed = 0;  ///< terminating chunk written
  std::uint64_t streams_aborted = 0;    ///< write failed (peer gone) or aborted on request
};

/// The server itself; see the file comment for what it answers.
class DemoUpstream {
 public:
  /// Binds and starts serving; throws boost::system::system_error when it
  /// cannot bind (a start-up error, the only exception it throws).
  explicit DemoUpstream(DemoUpstreamOptions options = {});
  ~DemoUpstream();
  DemoUpstream(const DemoUpstream&) = delete;
  DemoUpstream& operator=(const DemoUpstream&) = delete;

  /// The bound port (the real one when the options said 0).
  std::uint16_t port() const noexcept;
  /// "http://ADDRESS:PORT", without a trailing slash.
  std::string base_url() const;

  /// The last `record_capacity` requests, oldest first.
  std::vector<ReceivedRequest> received() const;
  /// All requests received since start (or the last clear), recorded or not.
  std::uint64_t received_total() const noexcept;
  void clear_received();

  /// Connection and stream counters (relaxed atomics: a consistent-enough view).
  DemoUpstreamStats stats() const noexcept;

  /// Stops accepting, drops open connections and joins the threads.
  /// Idempotent; the destructor calls it.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::demo
