#pragma once
/// A small HTTP server that receives DistillGuard alert webhooks, verifies
/// their signatures and records them: the engine of `dg-webhook-receiver`
/// (tools/) and the scripted receiver of the alert tests.
///
/// Runs its own io_context thread. Every request gets a status from the
/// script: the first `fail_first` requests get 500, then `status_for` (if set)
/// decides, else 200.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dg::gateway {

struct ReceivedWebhook {
  double received_at = 0;       ///< Unix seconds
  std::string method;
  std::string target;
  std::string timestamp;        ///< X-DistillGuard-Timestamp
  std::string signature;        ///< X-DistillGuard-Signature
  std::string event;            ///< X-DistillGuard-Event
  std::string alert_id;         ///< X-DistillGuard-Alert-Id
  int attempt = 0;              ///< X-DistillGuard-Attempt
  std::string content_type;
  std::string body;
  bool signature_ok = false;    ///< HMAC matched (false when no secret is configured)
  int status_sent = 0;
};

struct WebhookReceiverOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;       ///< 0: an ephemeral port
  std::string secret;           ///< shared HMAC secret; empty: signatures are not checked
  int fail_first = 0;           ///< answer 500 to the first N requests
  std::string out_file;         ///< append one JSON line per request; empty: memory only
  bool quiet = true;            ///< false: print one line per request to stdout
  std::string tls_cert_pem;     ///< certificate chain (PEM text); set with tls_key_pem to serve https
  std::string tls_key_pem;      ///< private key (PEM text)
  /// Optional script: status for the i-th request (0-based) after fail_first; 0 means 200.
  std::function<int(std::size_t index, const ReceivedWebhook&)> status_for;
};

class WebhookReceiver {
 public:
  /// Binds and starts serving (throws on bind failure; start-up code).
  explicit WebhookReceiver(WebhookReceiverOptions options);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// http(s)://host:port + path (`host` overrides the bound address, e.g. "localhost" for TLS).
  std::string url(const std::string& path = "/alerts", const std::string& host = {}) const;

  /// Every request received so far (copy).
  std::vector<ReceivedWebhook> received() const;
  std::size_t count() const;
  /// Waits until at least `n` requests arrived or `timeout` passed; returns the count.
  std::size_t wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

  /// Stops accepting and joins the server thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

/// One JSON line describing a received webhook (`signature_ok`, headers, and
/// the body as JSON when it parses, else as a string).
std::string received_webhook_json_line(const ReceivedWebhook& r);

}  // namespace dg::gateway
