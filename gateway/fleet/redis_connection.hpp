#pragma once
/// One hiredis async connection driven by an Asio io_context: hiredis'
/// `redisAsyncContext` event hooks (addRead/delRead/addWrite/delWrite/cleanup)
/// become `posix::stream_descriptor::async_wait`s on the connection's socket,
/// so every read, write and callback runs on the thread that runs the
/// io_context (the control-plane loop). Not thread-safe: use it only from that
/// thread (or while the loop is not running).
///
///   RedisConnection c(ioc);
///   c.connect("127.0.0.1", 6379, 2s, [&](bool ok) { ... }, [&] { /* lost */ });
///   c.command({"PING"}, [](const redisReply* r) { /* r == nullptr: connection gone */ });
///   c.close();   // pending callbacks run with nullptr; on_lost is not called
///
/// hiredis 0.14 (Debian 12) has no connect timeout and no TLS in its async
/// API: the timeout is this class's timer; TLS is refused by the config.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace dg::gateway::fleet {

class RedisConnection {
 public:
  using Reply = std::function<void(const redisReply*)>;

  explicit RedisConnection(boost::asio::io_context& ioc);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Starts a non-blocking connect: the host is resolved asynchronously
  /// (Asio's resolver, off the loop: a slow DNS never stalls the control
  /// plane), then hiredis connects to the first address, so its own
  /// getaddrinfo only parses a numeric one. `timeout` covers resolution and
  /// connect. `on_connected(false)` on a failed resolution, refusal or
  /// timeout; after `on_connected(true)`, `on_lost` once when the connection
  /// drops. Neither is called after close().
  void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
               std::function<void(bool)> on_connected, std::function<void()> on_lost);

  /// Sends one command (binary-safe arguments). `done` runs exactly once:
  /// with the reply, or with nullptr when the connection is gone. Returns
  /// false (and does not call `done`) when there is no connection.
  bool command(const std::vector<std::string>& args, Reply done);

  /// SUBSCRIBE: `on_message` runs for every reply of the subscription (the
  /// confirmation, then each message) and with nullptr when it ends.
  bool subscribe(const std::string& channel, Reply on_message);

  bool connected() const noexcept { return ac_ != nullptr && connected_; }
  /// Frees the connection; pending callbacks run with nullptr. Idempotent.
  void close();

 private:
  struct Watcher;  // the Asio side of hiredis' event hooks
  static void on_connect_cb(const redisAsyncContext* ac, int status);
  static void on_disconnect_cb(const redisAsyncContext* ac, int status);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_sub_cb(redisAsyncContext* ac, void* reply, void* privdata);
  void gone();
  /// hiredis' part of connect(), to a numeric address.
  void connect_resolved(const std::string& address, std::uint16_t port);
  /// The next resolved address, or on_connected(false) when none is left.
  void try_next_address();
  /// try_next_address() posted (this attempt only).
  void retry_later();

  boost::asio::io_context& ioc_;
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<Watcher> watcher_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::ip::tcp::resolver resolver_;
  std::uint64_t attempt_ = 0;  ///< connect() generation: a stale resolution or timer is ignored
  std::vector<std::string> addresses_;  ///< this attempt's resolved addresses
  std::size_t next_address_ = 0;
  std::uint16_t port_ = 0;
  std::shared_ptr<void> alive_ = std::make_shared<char>();  ///< expires with this object (resolver handlers)
  bool connected_ = false;
  bool closing_ = false;
  std::function<void(bool)> on_connected_;
  std::function<void()> on_lost_;
  std::unique_ptr<Reply> sub_handler_;
};

}  // namespace dg::gateway::fleet
