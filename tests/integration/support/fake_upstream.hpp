#pragma once
/// A scripted fake LLM upstream for the proxy's integration tests (http or
/// https), running on its own thread. What it does is chosen by the request
/// path:
///   /v1/chat/completions   JSON completion with usage, or SSE ("stream":true):
///                          3 deltas + usage chunk + [DONE]. With header
///                          `x-test-gate: 1` it stops after the first event
///                          until release_gate() is called. A JSON answer is
///                          gzipped when the request's Accept-Encoding allows gzip.
///   /echo                  JSON {method, target, headers:{lower-name: value}, body}
///   /sse-no-usage          SSE with deltas only (proxy must estimate)
///   /sse-long?n=N          SSE with N deltas of 40 characters (10 tokens) and usage
///   /stall-head            reads the request, never answers
///   /stall-body            SSE head and one event, then silence
///   /endless               SSE events every 2 ms until the peer goes away
///   /big?n=N               N bytes of body, written in 4 KiB pieces (Content-Length)
///   /slow-json             JSON body (Content-Length) in two halves, the second
///                          after release_gate()
///   /close                 JSON answer with Connection: close
///   /reset-head            reads the request, then resets the connection (RST)
///   /reset-stream          SSE head and two events, then RST
///   /reset-body            a JSON head (Content-Length 500) and 11 bytes, then RST
///   /interim               103 Early Hints and an unsolicited 100 Continue, then
///                          (5 ms later) 200 JSON {"answer": "<target>"}
///   /switching             an unrequested 101 Switching Protocols, then silence
///   anything else          404 JSON

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace dg::test {

class FakeUpstream {
 public:
  struct Options {
    bool tls = false;
    std::string cert_file;  ///< PEM chain (tls)
    std::string key_file;   ///< PEM key (tls)
  };

  FakeUpstream() : FakeUpstream(Options{}) {}
  explicit FakeUpstream(Options options);
  ~FakeUpstream();

  std::uint16_t port() const { return port_; }
  /// http://127.0.0.1:PORT or https://localhost:PORT
  std::string url() const;

  /// Lets a gated stream continue after its first event.
  void release_gate() { gate_open_.store(true); }
  bool gate_open() const { return gate_open_.load(); }
  /// Events written so far by gated streams.
  int gated_events_sent() const { return gated_events_sent_.load(); }

  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  /// /endless streams that ended because the peer closed the connection.
  int aborted_streams() const { return aborted_streams_.load(); }
  /// Connections currently open.
  int open_connections() const { return open_connections_.load(); }

  struct Seen {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  ///< lower-case names
  };
  Seen last_request() const;

  // Implementation detail shared with the .cpp.
  struct Impl;
  void note_request(Seen seen);
  std::atomic<bool> gate_open_{false};
  std::atomic<int> gated_events_sent_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> aborted_streams_{0};
  std::atomic<int> open_connections_{0};

 private:
  Options options_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  Seen last_;
  std::unique_ptr<Impl> impl_;
};

/// Path of a file under tests/integration/support/.
std::string support_file(const std::string& name);

}  // namespace dg::test
