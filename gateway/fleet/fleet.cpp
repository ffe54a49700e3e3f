#include "gateway/fleet/fleet.hpp"

#include <boost/asio/post.hpp>

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <random>

namespace dg::gateway::fleet {

namespace net = boost::asio;
using detectors::Decision;

namespace {

/// KEYS[1] hash of current decisions, KEYS[2] channel; ARGV[1] key_fp,
/// ARGV[2] wire text, ARGV[3] its `created`. Keeps the newer decision of a
/// key (a decision made while Redis was away must not overwrite a later one
/// from another instance); publishes only what it stored. Returns 1 or 0.
constexpr const char* kPutScript = R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' and type(c.decision) == 'table' then
    local t = tonumber(c.decision.created)
    if t and t > tonumber(ARGV[3]) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
)lua";

/// KEYS[1] hash; ARGV[1] now (Unix s); ARGV[2..] fields to drop if their
/// decision still expired at ARGV[1] (checked again here: another instance
/// may have written a fresh one since the HGETALL).
constexpr const char* kPruneScript = R"lua(
local n = 0
for i = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local ok, c = pcall(cjson.decode, cur)
    if ok and type(c) == 'table' and type(c.decision) == 'table' then
      local e = tonumber(c.decision.expires)
      if e and e ~= 0 and e <= tonumber(ARGV[1]) then
        redis.call('HDEL', KEYS[1], ARGV[i])
        n = n + 1
      end
    end
  end
end
return n
)lua";

constexpr std::size_t kMaxPending = 100000;

std::string number_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

bool is_error(const redisReply* r) { return !r || r->type == REDIS_REPLY_ERROR; }

std::string_view str_of(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return {r->str, r->len};
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

Fleet::Fleet(net::io_context& control, DecisionStore& store, FleetOptions options, std::function<double()> clock)
    : ioc_(control),
      store_(store),
      options_(std::move(options)),
      clock_(std::move(clock)),
      hash_key_(options_.prefix + ":decisions"),
      channel_(options_.prefix + ":decisions:events"),
      counter_sync_(control, counters_, options_.prefix, options_.instance, options_.counter_period, clock_),
      cmd_(control),
      sub_(control),
      retry_timer_(control),
      ping_timer_(control),
      backoff_(options_.backoff_min, options_.backoff_max, options_.backoff_seed != 0 ? options_.backoff_seed : random_seed()),
      self_(std::make_shared<std::atomic<Fleet*>>(this)) {}

Fleet::~Fleet() { stop(); }

void Fleet::attach() {
  store_.set_fleet_listener([self = self_, &ioc = ioc_, instance = options_.instance](const Decision& d,
                                                                                      std::string_view actor) {
    // Received decisions are applied with a fleet actor: never published again (no echo).
    if (is_fleet_actor(actor) || !self->load()) return;
    net::post(ioc, [self, w = WireDecision{instance, std::string(actor), d}]() mutable {
      if (Fleet* f = self->load()) f->on_local(std::move(w));
    });
  });
}

void Fleet::start() {
  net::post(ioc_, [self = self_] {
    if (Fleet* f = self->load()) f->connect();
  });
}

void Fleet::stop() {
  if (stopped_) return;
  stopped_ = true;
  self_->store(nullptr);
  retry_timer_.cancel();
  ping_timer_.cancel();
  counter_sync_.stop();
  ++gen_;
  cmd_.close();
  sub_.close();
  ready_ = false;
  stats_.connected.store(false);
}

bool Fleet::send(RedisConnection& c, const std::vector<std::string>& args, RedisConnection::Reply done) {
  stats_.commands.fetch_add(1, std::memory_order_relaxed);
  return c.command(args, std::move(done));
}

void Fleet::connect() {
  if (stopped_) return;
  const auto gen = ++gen_;
  ready_ = false;
  connected_count_ = 0;
  ping_outstanding_ = false;
  for (auto& [fp, p] : pending_) p.in_flight = false;
  auto up = [this, gen](bool ok) {
    if (gen != gen_) return;
    if (!ok) return lost(gen, "is unreachable");
    if (++connected_count_ == 2) on_connected(gen);
  };
  auto down = [this, gen] { lost(gen, "closed the connection"); };
  cmd_.connect(options_.host, options_.port, options_.connect_timeout, up, down);
  sub_.connect(options_.host, options_.port, options_.connect_timeout, up, down);
}

void Fleet::after_auth(std::uint64_t gen, RedisConnection& c, std::function<void()> next) {
  if (options_.password.empty()) return next();
  send(c, {"AUTH", options_.password}, [this, gen, next = std::move(next)](const redisReply* r) {
    if (gen != gen_) return;
    if (is_error(r)) return lost(gen, "refused AUTH");
    next();
  });
}

void Fleet::on_connected(std::uint64_t gen) {
  // Order: AUTH both, SELECT the database, SUBSCRIBE, and only once the
  // subscription is confirmed load the hash, so that no decision published
  // between the load and the subscription is missed.
  after_auth(gen, cmd_, [this, gen] {
    auto subscribe = [this, gen] {
      after_auth(gen, sub_, [this, gen] {
        stats_.commands.fetch_add(1, std::memory_order_relaxed);
        if (!sub_.subscribe(channel_, [this, gen](const redisReply* r) { on_message(gen, r); }))
          lost(gen, "refused SUBSCRIBE");
      });
    };
    if (options_.db == 0) return subscribe();
    send(cmd_, {"SELECT", std::to_string(options_.db)}, [this, gen, subscribe](const redisReply* r) {
      if (gen != gen_) return;
      if (is_error(r)) return lost(gen, "refused SELECT");
      subscribe();
    });
  });
}

void Fleet::on_message(std::uint64_t gen, const redisReply* r) {
  if (gen != gen_ || !r) return;  // nullptr: the connection is going; on_lost follows
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  const auto kind = str_of(r->element[0]);
  if (kind == "subscribe") return load_current(gen);
  if (kind != "message") return;
  std::string error;
  auto w = decode_decision(str_of(r->element[2]), error);
  if (!w) {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("fleet: ignored a message on {}: {}", channel_, error);
    return;
  }
  if (w->instance == options_.instance) return;  // our own publication
  apply_remote(*w);
}

void Fleet::load_current(std::uint64_t gen) {
  send(cmd_, {"HGETALL", hash_key_}, [this, gen](const redisReply* r) {
    if (gen != gen_) return;
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return lost(gen, "failed HGETALL");
    const double now = clock_();
    std::vector<std::string> expired{kPruneScript, "1", hash_key_, number_text(now)};
    std::size_t loaded = 0;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string error;
      auto w = decode_decision(str_of(r->element[i + 1]), error);
      if (!w) {
        stats_.errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (w->decision.expires != 0 && w->decision.expires <= now) {
        expired.emplace_back(str_of(r->element[i]));
        continue;
      }
      apply_remote(*w);
      ++loaded;
    }
    if (expired.size() > 4) {
      expired.insert(expired.begin(), "EVAL");
      send(cmd_, expired, [](const redisReply*) {});
    }
    ready_ = true;
    backoff_.reset();
    stats_.connected.store(true);
    if (ever_ready_) stats_.reconnects.fetch_add(1, std::memory_order_relaxed);
    if (!ever_ready_ || down_logged_)
      spdlog::info("fleet: instance {} connected to Redis {}:{}: {} current decisions, {} local ones to publish",
                   options_.instance, options_.host, options_.port, loaded, pending_.size());
    ever_ready_ = true;
    down_logged_ = false;
    send_pending();
    counter_sync_.start([this](const std::vector<std::string>& args, RedisConnection::Reply done) {
      return send(cmd_, args, std::move(done));
    });
    ping(gen);
  });
}

void Fleet::apply_remote(const WireDecision& w) {
  const double now = clock_();
  const auto& d = w.decision;
  if (d.expires != 0 && d.expires <= now) return;
  // Newer wins; equal is the same decision (our own, or one applied before).
  // The store compares and applies in one step: a worker's detector decision
  // for the key may land between a check here and the write.
  // Queued, not waited for: this loop also serves the admin API, pings and
  // publishing, and a reconnect loads every current decision at once. The
  // other instance journaled it; a failure here is counted by the store.
  if (store_.post_if_newer(d, fleet_actor(w.instance, w.actor), now))
    stats_.received.fetch_add(1, std::memory_order_relaxed);
}

void Fleet::on_local(WireDecision w) {
  if (stopped_) return;
  const auto fp = w.decision.key_fp;
  auto it = pending_.find(fp);
  if (it == pending_.end()) {
    if (pending_.size() >= kMaxPending) {
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = pending_.emplace(fp, Pending{}).first;
  }
  it->second.text = encode_decision(w);
  it->second.created = number_text(w.decision.created);
  stats_.pending.store(pending_.size(), std::memory_order_relaxed);
  // In flight: its reply sends the newer text.
  if (ready_ && !it->second.in_flight) send_one(fp, it->second);
}

void Fleet::send_pending() {
  for (auto& [fp, p] : pending_)
    if (!p.in_flight && !send_one(fp, p)) return;
}

bool Fleet::send_one(const std::string& fp, Pending& p) {
  const auto gen = gen_;
  p.in_flight = true;
  const bool sent = send(cmd_, {"EVAL", kPutScript, "2", hash_key_, channel_, fp, p.text, p.created},
                         [this, gen, fp, text = p.text](const redisReply* r) {
                           auto it = pending_.find(fp);
                           if (it == pending_.end()) return;
                           it->second.in_flight = false;
                           if (is_error(r) || r->type != REDIS_REPLY_INTEGER) {
                             if (r) stats_.errors.fetch_add(1, std::memory_order_relaxed);
                             return;  // resent on the next session
                           }
                           (r->integer == 1 ? stats_.published : stats_.superseded)
                               .fetch_add(1, std::memory_order_relaxed);
                           if (it->second.text == text) {
                             pending_.erase(it);
                           } else if (gen == gen_ && ready_) {
                             send_one(fp, it->second);  // this key changed while its write was in flight
                           }
                           stats_.pending.store(pending_.size(), std::memory_order_relaxed);
                         });
  if (!sent) p.in_flight = false;
  return sent;
}

void Fleet::ping(std::uint64_t gen) {
  ping_timer_.expires_after(options_.ping_period);
  ping_timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != gen_ || !ready_) return;
    if (ping_outstanding_) {
      if (std::chrono::steady_clock::now() - ping_sent_ > 3 * options_.ping_period)
        return lost(gen, "does not answer");
    } else {
      ping_outstanding_ = true;
      ping_sent_ = std::chrono::steady_clock::now();
      send(cmd_, {"PING"}, [this, gen](const redisReply* r) {
        if (gen != gen_) return;
        if (is_error(r)) return;  // a lost connection is reported by on_lost
        ping_outstanding_ = false;
      });
    }
    ping(gen);
  });
}

void Fleet::lost(std::uint64_t gen, const char* why) {
  if (gen != gen_ || stopped_) return;
  ++gen_;  // every callback of this session is now stale
  counter_sync_.stop();
  stats_.errors.fetch_add(1, std::memory_order_relaxed);
  stats_.connected.store(false);
  ready_ = false;
  if (!down_logged_) {
    down_logged_ = true;
    spdlog::warn("fleet: Redis {}:{} {}: serving from local state; decisions made meanwhile are published when it returns",
                 options_.host, options_.port, why);
  }
  // Closed from the loop, never inside a hiredis callback.
  net::post(ioc_, [self = self_] {
    Fleet* f = self->load();
    if (!f) return;
    f->cmd_.close();
    f->sub_.close();
    f->schedule_reconnect();
  });
}

void Fleet::schedule_reconnect() {
  // Jittered: instances that lost the same Redis together do not all come back at once.
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    connect();
  });
}

}  // namespace dg::gateway::fleet
