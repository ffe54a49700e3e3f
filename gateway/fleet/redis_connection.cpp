#include "gateway/fleet/redis_connection.hpp"

#include <boost/asio/post.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace dg::gateway::fleet {

namespace net = boost::asio;

/// Persistent read/write interest as hiredis asks for it: add* arms one
/// async_wait (if none is pending) and re-arms after each event while the
/// interest lasts; del* only drops the interest (a pending wait then fires and
/// does nothing). Shared with the handlers, so a handler that outlives the
/// context (cleanup cancels and releases the socket) finds `dead` set.
struct RedisConnection::Watcher : std::enable_shared_from_this<Watcher> {
  Watcher(net::io_context& ioc, int fd, redisAsyncContext* context) : sd(ioc, fd), ac(context) {}
  net::posix::stream_descriptor sd;
  redisAsyncContext* ac;
  bool dead = false;
  bool want_read = false, want_write = false;
  bool read_armed = false, write_armed = false;

  void arm_read() {
    if (dead || read_armed || !want_read) return;
    read_armed = true;
    sd.async_wait(net::posix::stream_descriptor::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->read_armed = false;
      if (ec || self->dead || !self->want_read) return;
      redisAsyncHandleRead(self->ac);  // may free the context (cleanup sets dead)
      self->arm_read();
    });
  }
  void arm_write() {
    if (dead || write_armed || !want_write) return;
    write_armed = true;
    sd.async_wait(net::posix::stream_descriptor::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
      self->write_armed = false;
      if (ec || self->dead || !self->want_write) return;
      redisAsyncHandleWrite(self->ac);
      self->arm_write();
    });
  }
  void cleanup() {
    dead = true;
    boost::system::error_code ec;
    sd.cancel(ec);
    (void)sd.release();  // hiredis closes the socket itself
  }

  static Watcher* of(void* p) { return static_cast<Watcher*>(p); }
  static void add_read(void* p) {
    of(p)->want_read = true;
    of(p)->arm_read();
  }
  static void del_read(void* p) { of(p)->want_read = false; }
  static void add_write(void* p) {
    of(p)->want_write = true;
    of(p)->arm_write();
  }
  static void del_write(void* p) { of(p)->want_write = false; }
  static void cleanup_cb(void* p) { of(p)->cleanup(); }
};

RedisConnection::RedisConnection(net::io_context& ioc) : ioc_(ioc), connect_timer_(ioc), resolver_(ioc) {}

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                              std::function<void(bool)> on_connected, std::function<void()> on_lost) {
  close();
  on_connected_ = std::move(on_connected);
  on_lost_ = std::move(on_lost);
  const auto attempt = ++attempt_;
  connect_timer_.expires_after(timeout);
  connect_timer_.async_wait([this, attempt](boost::system::error_code ec) {
    if (ec || attempt != attempt_ || connected_) return;
    close();  // cancels the resolution or frees the connecting context
    if (on_connected_) on_connected_(false);
  });
  // redisAsyncConnect resolves with a blocking getaddrinfo: resolved here
  // instead, on Asio's resolver thread, and handed a numeric address.
  resolver_.async_resolve(
      host, std::to_string(port), net::ip::resolver_base::numeric_service,
      [this, alive = std::weak_ptr<void>(alive_), attempt, port](boost::system::error_code ec,
                                                                 const net::ip::tcp::resolver::results_type& results) {
        // A getaddrinfo already running when close() cancelled it still
        // completes with its results, possibly after this object is gone.
        if (alive.expired() || attempt != attempt_) return;
        addresses_.clear();
        if (!ec)
          for (const auto& r : results) addresses_.push_back(r.endpoint().address().to_string());
        next_address_ = 0;
        port_ = port;
        try_next_address();
      });
}

void RedisConnection::try_next_address() {
  // In the resolver's order ("localhost" may give ::1 before 127.0.0.1).
  if (next_address_ >= addresses_.size()) {
    connect_timer_.cancel();
    if (on_connected_) on_connected_(false);
    return;
  }
  connect_resolved(addresses_[next_address_++], port_);
}

void RedisConnection::retry_later() {
  // From the loop, never inside hiredis' callback or the caller's frame.
  net::post(ioc_, [this, alive = std::weak_ptr<void>(alive_), attempt = attempt_] {
    if (alive.expired() || attempt != attempt_) return;
    try_next_address();
  });
}

void RedisConnection::connect_resolved(const std::string& address, std::uint16_t port) {
  redisAsyncContext* ac = redisAsyncConnect(address.c_str(), port);
  if (!ac || ac->err) {
    if (ac) redisAsyncFree(ac);
    retry_later();
    return;
  }
  ac_ = ac;
  connected_ = false;
  ac->data = this;
  watcher_ = std::make_shared<Watcher>(ioc_, ac->c.fd, ac);
  ac->ev.data = watcher_.get();
  ac->ev.addRead = &Watcher::add_read;
  ac->ev.delRead = &Watcher::del_read;
  ac->ev.addWrite = &Watcher::add_write;
  ac->ev.delWrite = &Watcher::del_write;
  ac->ev.cleanup = &Watcher::cleanup_cb;
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::on_disconnect_cb);
  redisAsyncSetConnectCallback(ac, &RedisConnection::on_connect_cb);  // arms the first write wait
}

void RedisConnection::on_connect_cb(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (!self || self->closing_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback without a disconnect
    // callback. The next resolved address, if any, within the same deadline.
    self->ac_ = nullptr;
    self->watcher_.reset();
    self->retry_later();
    return;
  }
  self->connect_timer_.cancel();
  self->connected_ = true;
  if (self->on_connected_) self->on_connected_(true);
}

void RedisConnection::on_disconnect_cb(const redisAsyncContext* ac, int) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (!self) return;
  self->gone();
}

void RedisConnection::gone() {
  // The context is being freed by hiredis (or by close()).
  ac_ = nullptr;
  watcher_.reset();
  const bool was = connected_;
  connected_ = false;
  if (closing_ || !was) return;
  if (on_lost_) net::post(ioc_, [cb = on_lost_] { cb(); });
}

void RedisConnection::on_reply_cb(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<Reply> done(static_cast<Reply*>(privdata));
  (*done)(static_cast<const redisReply*>(reply));
}

void RedisConnection::on_sub_cb(redisAsyncContext*, void* reply, void* privdata) {
  (*static_cast<Reply*>(privdata))(static_cast<const redisReply*>(reply));
}

bool RedisConnection::command(const std::vector<std::string>& args, Reply done) {
  if (!connected()) return false;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* cb = new Reply(std::move(done));
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_reply_cb, cb, static_cast<int>(args.size()), argv.data(),
                            lens.data()) != REDIS_OK) {
    delete cb;
    return false;
  }
  return true;
}

bool RedisConnection::subscribe(const std::string& channel, Reply on_message) {
  if (!connected()) return false;
  sub_handler_ = std::make_unique<Reply>(std::move(on_message));
  const char* argv[] = {"SUBSCRIBE", channel.data()};
  const size_t lens[] = {9, channel.size()};
  return redisAsyncCommandArgv(ac_, &RedisConnection::on_sub_cb, sub_handler_.get(), 2, argv, lens) == REDIS_OK;
}

void RedisConnection::close() {
  connect_timer_.cancel();
  resolver_.cancel();
  ++attempt_;
  if (!ac_) return;
  closing_ = true;
  redisAsyncContext* ac = ac_;
  redisAsyncFree(ac);  // runs pending callbacks with nullptr, then cleanup
  ac_ = nullptr;
  watcher_.reset();
  connected_ = false;
  closing_ = false;
}

}  // namespace dg::gateway::fleet
