#include "demo/demo_upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "demo/api_format.hpp"

namespace dg::demo {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);
constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr std::string_view kServerName = "dg-demo-upstream";

using Request = http::request<http::string_body>;

std::optional<std::int64_t> header_int(const Request& req, std::string_view name) {
  const auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  const std::string_view v = it->value();
  std::int64_t out = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

std::string header_string(const Request& req, std::string_view name) {
  const auto it = req.find(name);
  return it == req.end() ? std::string{} : std::string(it->value());
}

/// The parameters of the last `capacity` requests, shared by all workers.
class RequestLog {
 public:
  explicit RequestLog(std::size_t capacity) : capacity_(capacity) {}

  void add(ReceivedRequest r) {
    total_.fetch_add(1, std::memory_order_relaxed);
    if (capacity_ == 0) return;
    std::lock_guard lock(mutex_);
    if (entries_.size() == capacity_) entries_.pop_front();
    entries_.push_back(std::move(r));
  }
  std::vector<ReceivedRequest> snapshot() const {
    std::lock_guard lock(mutex_);
    return {entries_.begin(), entries_.end()};
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    total_.store(0, std::memory_order_relaxed);
  }
  std::uint64_t total() const noexcept { return total_.load(std::memory_order_relaxed); }

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<ReceivedRequest> entries_;
  std::atomic<std::uint64_t> total_{0};
};

struct Worker {
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
};

// Waits `d` on the stream's executor; a zero or negative duration does not
// suspend at all.
net::awaitable<void> pause(beast::tcp_stream& stream, std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  net::steady_timer timer(stream.get_executor());
  timer.expires_after(d);
  co_await timer.async_wait(kToken);
}

net::awaitable<bool> send_full(beast::tcp_stream& stream, const Request& req, http::status status, std::string body,
                               bool keep_alive, std::string_view content_type = "application/json") {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await http::async_write(stream, res, kToken);
  co_return !ec && keep_alive;
}

}  // namespace

struct DemoUpstream::Impl {
  explicit Impl(DemoUpstreamOptions o) : options(std::move(o)), log(options.record_capacity) {}

  DemoUpstreamOptions options;
  RequestLog log;
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> connections_closed{0};
  std::atomic<std::uint64_t> streams_started{0};
  std::atomic<std::uint64_t> streams_completed{0};
  std::atomic<std::uint64_t> streams_aborted{0};
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::promise<void> accept_done;
  std::mutex stop_mutex;
  bool stopped = false;

  void record(const Request& req, const json::value* body);
  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket);
  net::awaitable<bool> handle(beast::tcp_stream& stream, const Request& req);
  /// `body` is the parsed request body, or null when it is not JSON.
  net::awaitable<bool> handle_api(beast::tcp_stream& stream, const Request& req, Api api, const json::value* body,
                                  bool keep_alive);
  /// Streams `events`; with `abort_after` set, drops the connection after
  /// that many paced (token) events, as a failing upstream would.
  net::awaitable<bool> send_stream(beast::tcp_stream& stream, const Request& req, const std::vector<SseEvent>& events,
                                   std::chrono::milliseconds interval, std::optional<std::int64_t> abort_after,
                                   bool keep_alive);
  DemoUpstreamStats stats() const noexcept;
};

// Every request outside /demo/ is recorded, whatever its path, so that tests
// can also see what a proxy forwarded to endpoints the demo does not serve.
void DemoUpstream::Impl::record(const Request& req, const json::value* body) {
  ReceivedRequest rec;
  rec.method = std::string(req.method_string());
  rec.path = std::string(req.target());
  rec.has_authorization = req.count(http::field::authorization) > 0;
  rec.has_api_key_header = req.count("api-key") > 0 || req.count("x-api-key") > 0;
  rec.user_agent = header_string(req, "user-agent");
  rec.x_forwarded_for = header_string(req, "x-forwarded-for");
  rec.body_bytes = req.body().size();
  if (body) record_body_parameters(*body, rec);
  log.add(std::move(rec));
}

net::awaitable<void> DemoUpstream::Impl::accept_loop() {
  std::size_t next = 0;
  for (;;) {
    auto& worker = *workers[next++ % workers.size()];
    tcp::socket socket(worker.ioc);
    auto [ec] = co_await acceptor->async_accept(socket, kToken);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) break;
      // Out of descriptors and the like: back off briefly instead of spinning.
      net::steady_timer timer(acceptor->get_executor());
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(kToken);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(worker.ioc, session(std::move(socket)), net::detached);
  }
  accept_done.set_value();
}

net::awaitable<void> DemoUpstream::Impl::session(tcp::socket socket) {
  connections_total.fetch_add(1, std::memory_order_relaxed);
  // Counted on every exit, including destruction of the suspended frame at stop().
  struct CloseCounter {
    std::atomic<std::uint64_t>& closed;
    ~CloseCounter() { closed.fetch_add(1, std::memory_order_relaxed); }
  } close_counter{connections_closed};
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    stream.expires_after(kIdleTimeout);
    // Trap 3: pass the parser itself so that its limits apply.
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kToken);
    if (ec == http::error::body_limit) {
      Request dummy{http::verb::post, "/", 11};
      co_await send_full(stream, dummy, http::status::payload_too_large,
                         error_body("request body too large", "invalid_request_error", "body_too_large"), false);
      break;
    }
    if (ec) break;
    const Request req = parser.release();
    bool keep = false;
    try {
      keep = co_await handle(stream, req);
    } catch (const std::exception&) {  // last resort: a bug must not take the server down
      keep = false;
    }
    if (!keep) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<bool> DemoUpstream::Impl::handle(beast::tcp_stream& stream, const Request& req) {
  std::string_view path = req.target();
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  const bool keep_alive = req.keep_alive();

  if (path == "/demo/received") {
    if (req.method() == http::verb::delete_) {
      log.clear();
      co_return co_await send_full(stream, req, http::status::ok, R"({"cleared":true})", keep_alive);
    }
    json::array list;
    for (const auto& r : log.snapshot()) list.push_back(to_json(r));
    json::object o{{"total", log.total()}, {"requests", std::move(list)}};
    co_return co_await send_full(stream, req, http::status::ok, json::serialize(o), keep_alive);
  }
  boost::system::error_code json_ec;
  const json::value body = req.body().empty() ? json::value() : json::parse(req.body(), json_ec);
  const json::value* parsed = req.body().empty() || json_ec ? nullptr : &body;
  if (!path.starts_with("/demo/")) record(req, parsed);
  if (path == "/demo/stats") {
    const auto st = stats();
    json::object o{{"connections_total", st.connections_total}, {"connections_open", st.connections_open},
                   {"streams_started", st.streams_started},     {"streams_completed", st.streams_completed},
                   {"streams_aborted", st.streams_aborted}};
    co_return co_await send_full(stream, req, http::status::ok, json::serialize(o), keep_alive);
  }
  if (path == "/demo/health")
    co_return co_await send_full(stream, req, http::status::ok, R"({"status":"ok"})", keep_alive);
  if (path == "/v1/models" && req.method() == http::verb::get)
    co_return co_await send_full(stream, req, http::status::ok,
                                 models_body(options.models, static_cast<std::int64_t>(std::time(nullptr))),
                                 keep_alive);
  const auto api = api_for_path(path);
  if (!api)
    co_return co_await send_full(stream, req, http::status::not_found,
                                 error_body("Unknown request URL: " + std::string(req.method_string()) + " " +
                                                std::string(path),
                                            "invalid_request_error", "unknown_url"),
                                 keep_alive);
  if (req.method() != http::verb::post)
    co_return co_await send_full(stream, req, http::status::method_not_allowed,
                                 error_body("Only POST is allowed here", "invalid_request_error", "method_not_allowed"),
                                 keep_alive);
  co_return co_await handle_api(stream, req, *api, parsed, keep_alive);
}

net::awaitable<bool> DemoUpstream::Impl::handle_api(beast::tcp_stream& stream, const Request& req, Api api,
                                                    const json::value* body, bool keep_alive) {

  const auto latency = std::chrono::milliseconds(header_int(req, "x-demo-latency-ms").value_or(options.latency.count()));
  const auto interval =
      std::chrono::milliseconds(header_int(req, "x-demo-token-interval-ms").value_or(options.token_interval.count()));
  auto forced_tokens = header_int(req, "x-demo-completion-tokens");
  if (!forced_tokens) forced_tokens = options.completion_tokens;

  if (const auto status = header_int(req, "x-demo-status"); status && *status != 200) {
    co_await pause(stream, latency);
    const auto code = (*status >= 400 && *status <= 599) ? static_cast<http::status>(*status)
                                                         : http::status::internal_server_error;
    co_return co_await send_full(
        stream, req, code,
        error_body("error injected by x-demo-status", *status >= 500 ? "server_error" : "invalid_request_error",
                   "demo_injected"),
        keep_alive);
  }
  if (!body)
    co_return co_await send_full(
        stream, req, http::status::bad_request,
        error_body("We could not parse the JSON body of your request.", "invalid_request_error", "invalid_json"),
        keep_alive);
  std::string error;
  const auto parsed = parse_demo_request(api, *body, error);
  if (!parsed)
    co_return co_await send_full(stream, req, http::status::bad_request,
                                 error_body(error, "invalid_request_error", "invalid_request"), keep_alive);
  const DemoRequest& r = *parsed;
  if (api == Api::Embeddings) {
    co_await pause(stream, latency);
    co_return co_await send_full(stream, req, http::status::ok, embeddings_body(r), keep_alive);
  }
  const Generation g = generate(r, forced_tokens, static_cast<std::int64_t>(std::time(nullptr)));
  if (!r.stream) {
    // A non-streamed answer arrives when the whole generation would be done.
    co_await pause(stream, latency + interval * g.longest_choice);
    co_return co_await send_full(stream, req, http::status::ok, response_body(r, g), keep_alive);
  }
  co_await pause(stream, latency);
  co_return co_await send_stream(stream, req, stream_events(r, g), interval, header_int(req, "x-demo-abort-after-tokens"),
                                 keep_alive);
}

net::awaitable<bool> DemoUpstream::Impl::send_stream(beast::tcp_stream& stream, const Request& req,
                                                     const std::vector<SseEvent>& events,
                                                     std::chrono::milliseconds interval,
                                                     std::optional<std::int64_t> abort_after, bool keep_alive) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, "text/event-stream; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  streams_started.fetch_add(1, std::memory_order_relaxed);
  auto aborted = [this] {
    streams_aborted.fetch_add(1, std::memory_order_relaxed);
    return false;
  };
  stream.expires_after(kWriteTimeout);
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, kToken); ec) co_return aborted();
  // One HTTP chunk per event, written as soon as it is due, so that a proxy
  // in between can be checked for not buffering.
  std::int64_t tokens_sent = 0;
  for (const auto& ev : events) {
    if (ev.paced) {
      if (abort_after && tokens_sent >= *abort_after) {
        aborted();  // counted before the peer can see the connection end
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return false;
      }
      co_await pause(stream, interval);
      ++tokens_sent;
    }
    stream.expires_after(kWriteTimeout);
    if (auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(ev.bytes)), kToken); ec)
      co_return aborted();
  }
  stream.expires_after(kWriteTimeout);
  if (auto [ec, n] = co_await net::async_write(stream, http::make_chunk_last(), kToken); ec) co_return aborted();
  streams_completed.fetch_add(1, std::memory_order_relaxed);
  co_return keep_alive;
}

DemoUpstream::DemoUpstream(DemoUpstreamOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& im = *impl_;
  const std::size_t n = std::max<std::size_t>(1, im.options.workers);
  for (std::size_t i = 0; i < n; ++i) im.workers.push_back(std::make_unique<Worker>());
  const tcp::endpoint endpoint{net::ip::make_address(im.options.address), im.options.port};
  im.acceptor = std::make_unique<tcp::acceptor>(im.workers[0]->ioc);
  im.acceptor->open(endpoint.protocol());
  im.acceptor->set_option(net::socket_base::reuse_address(true));
  im.acceptor->bind(endpoint);
  im.acceptor->listen(net::socket_base::max_listen_connections);
  im.port = im.acceptor->local_endpoint().port();
  net::co_spawn(im.workers[0]->ioc, im.accept_loop(), net::detached);
  for (auto& w : im.workers) w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });
}

DemoUpstreamStats DemoUpstream::Impl::stats() const noexcept {
  DemoUpstreamStats st;
  st.connections_total = connections_total.load(std::memory_order_relaxed);
  st.connections_open = st.connections_total - connections_closed.load(std::memory_order_relaxed);
  st.streams_started = streams_started.load(std::memory_order_relaxed);
  st.streams_completed = streams_completed.load(std::memory_order_relaxed);
  st.streams_aborted = streams_aborted.load(std::memory_order_relaxed);
  return st;
}

DemoUpstream::~DemoUpstream() { stop(); }

DemoUpstreamStats DemoUpstream::stats() const noexcept { return impl_->stats(); }

std::uint16_t DemoUpstream::port() const noexcept { return impl_->port; }

std::string DemoUpstream::base_url() const {
  return "http://" + impl_->options.address + ":" + std::to_string(impl_->port);
}

std::vector<ReceivedRequest> DemoUpstream::received() const { return impl_->log.snapshot(); }

std::uint64_t DemoUpstream::received_total() const noexcept { return impl_->log.total(); }

void DemoUpstream::clear_received() { impl_->log.clear(); }

void DemoUpstream::stop() {
  auto& im = *impl_;
  std::lock_guard lock(im.stop_mutex);
  if (im.stopped) return;
  im.stopped = true;
  // Close the acceptor on its own thread and let the accept loop end, so that
  // no pending accept holds a socket of another worker when contexts go away.
  auto done = im.accept_done.get_future();
  net::post(im.workers[0]->ioc, [&im] {
    beast::error_code ignored;
    im.acceptor->close(ignored);
  });
  done.wait_for(std::chrono::seconds(5));
  for (auto& w : im.workers) {
    w->guard.reset();
    w->ioc.stop();
  }
  for (auto& w : im.workers)
    if (w->thread.joinable()) w->thread.join();
  im.acceptor.reset();
  // Destroying each context destroys the sessions still suspended in it.
  im.workers.clear();
}

}  // namespace dg::demo
