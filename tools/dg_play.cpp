// dg-play: plays traffic records (traffic-format.md) against an HTTP target,
// normally DistillGuard in front of the demo upstream, and counts what each
// key got back. Each record is sent with its key as "Authorization: Bearer",
// its client_ip as X-Forwarded-For and its user agent, at the records'
// relative times divided by --speed (0: as fast as N connections allow).
//
// Bounded and robust: every request has a timeout, transport errors are
// counted (never retried), and keys are shown only as fingerprints.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kToken = net::as_tuple(net::use_awaitable);

void print_usage(std::ostream& out) {
  out << "usage: dg-play --target http://HOST:PORT [--speed X] [--concurrency N] [--timeout-ms T]\n"
         "               [--json FILE] [--limit N] [--skip-bad-lines] [--demo-usage] TRAFFIC.jsonl...\n"
         "  Sends traffic records through the target (the key as Authorization: Bearer,\n"
         "  client_ip as X-Forwarded-For, the record's User-Agent), keeping their relative\n"
         "  timing divided by X (default 1; 0 = as fast as N connections allow, default N=8),\n"
         "  and prints per key fingerprint the status counts (200/429/403/other/errors).\n"
         "  Bad lines are reported as FILE:LINE and skipped; the exit status is then 1\n"
         "  unless --skip-bad-lines is given. --demo-usage sends each record's\n"
         "  response.completion_tokens as x-demo-completion-tokens, so that dg-demo-upstream\n"
         "  answers as long as the recorded model did (output-heavy traffic stays output-heavy).\n";
}

/// "fp:" + first 16 hex digits of SHA-256(key), as traffic-format.md names keys.
std::string fingerprint(std::string_view key) {
  if (key.starts_with("fp:") && key.size() == 19) return std::string(key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "fp:";
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

struct Record {
  double ts = 0;
  std::string key;
  std::string fingerprint;
  std::string client_ip;
  std::string user_agent;
  http::verb method = http::verb::post;
  std::string path;
  std::string body;
  std::int64_t completion_tokens = -1;  ///< the record's response.completion_tokens (-1: none)
};

struct Target {
  std::string host;
  std::string port;
  std::string base_path;  // prefix without a trailing slash
};

std::optional<Target> parse_target(std::string_view url) {
  if (!url.starts_with("http://")) return std::nullopt;
  url.remove_prefix(7);
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Target t;
  if (slash != std::string_view::npos) {
    t.base_path = std::string(url.substr(slash));
    while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  }
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    t.host = std::string(authority);
    t.port = "80";
  } else {
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
  }
  if (t.host.starts_with('[') && t.host.ends_with(']')) t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty()) return std::nullopt;
  return t;
}

/// Reads records; bad lines are reported as FILE:LINE: reason and skipped.
std::size_t load_records(const std::string& file, std::vector<Record>& out, std::size_t limit) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << file << ": cannot open\n";
    return 1;
  }
  std::size_t skipped = 0;
  std::string line;
  for (std::size_t lineno = 1; std::getline(in, line) && out.size() < limit; ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto bad = [&](std::string_view why) {
      std::cerr << file << ":" << lineno << ": " << why << "\n";
      ++skipped;
    };
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      bad("not a JSON object");
      continue;
    }
    const auto& o = v.as_object();
    const auto* ts = o.if_contains("ts");
    const auto* key = o.if_contains("key");
    const auto* request = o.if_contains("request");
    if (!ts || !ts->is_number()) {
      bad("missing or non-numeric \"ts\"");
      continue;
    }
    if (!key || !key->is_string()) {
      bad("missing \"key\"");
      continue;
    }
    if (!request || !request->is_object()) {
      bad("missing \"request\" object");
      continue;
    }
    Record r;
    r.ts = ts->to_number<double>();
    r.key = std::string(key->as_string());
    r.fingerprint = fingerprint(r.key);
    if (const auto* ip = o.if_contains("client_ip"); ip && ip->is_string()) r.client_ip = std::string(ip->as_string());
    if (const auto* ua = o.if_contains("user_agent"); ua && ua->is_string()) r.user_agent = std::string(ua->as_string());
    r.path = "/v1/chat/completions";
    if (const auto* p = o.if_contains("path"); p && p->is_string()) r.path = std::string(p->as_string());
    if (const auto* m = o.if_contains("method"); m && m->is_string()) {
      r.method = http::string_to_verb(std::string(m->as_string()));
      if (r.method == http::verb::unknown) {
        bad("unknown \"method\"");
        continue;
      }
    }
    if (!out.empty() && r.ts < out.back().ts) {
      bad("\"ts\" goes backwards");
      continue;
    }
    if (const auto* resp = o.if_contains("response"); resp && resp->is_object())
      if (const auto* ct = resp->as_object().if_contains("completion_tokens"); ct && ct->is_number())
        r.completion_tokens = static_cast<std::int64_t>(ct->to_number<double>());
    r.body = json::serialize(*request);
    out.push_back(std::move(r));
  }
  return skipped;
}

struct KeyStats {
  std::uint64_t requests = 0, ok = 0, throttled = 0, blocked = 0, other = 0, errors = 0;
  void add(const KeyStats& s) {
    requests += s.requests;
    ok += s.ok;
    throttled += s.throttled;
    blocked += s.blocked;
    other += s.other;
    errors += s.errors;
  }
};

struct Player {
  Target target;
  std::vector<Record> records;
  double speed = 1.0;
  std::size_t concurrency = 8;
  std::chrono::milliseconds timeout{30000};
  bool demo_usage = false;  ///< ask dg-demo-upstream for the record's completion length
  std::vector<tcp::endpoint> endpoints;

  std::size_t next = 0;
  Clock::time_point start;
  std::map<std::string, KeyStats> stats;
  std::map<int, std::uint64_t> status_counts;
  std::uint64_t error_count = 0;
  double max_lag_ms = 0;

  net::awaitable<void> worker() {
    auto executor = co_await net::this_coro::executor;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    net::steady_timer timer(executor);
    const double t0 = records.empty() ? 0 : records.front().ts;
    while (next < records.size()) {
      const Record& r = records[next++];
      if (speed > 0) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>((r.ts - t0) / speed));
        if (due > Clock::now()) {
          timer.expires_at(due);
          co_await timer.async_wait(kToken);
        }
        max_lag_ms = std::max(max_lag_ms, std::chrono::duration<double, std::milli>(Clock::now() - due).count());
      }
      auto& ks = stats[r.fingerprint];
      ++ks.requests;
      const int status = co_await send(r, stream, buffer);
      if (status <= 0) {
        ++ks.errors;
        ++error_count;
        stream.reset();  // never reuse a connection in an unknown state
        buffer.clear();
        continue;
      }
      ++status_counts[status];
      if (status == 200) {
        ++ks.ok;
      } else if (status == 429) {
        ++ks.throttled;
      } else if (status == 403) {
        ++ks.blocked;
      } else {
        ++ks.other;
      }
    }
  }

  /// The response status, or 0 on a transport error or timeout.
  net::awaitable<int> send(const Record& r, std::optional<beast::tcp_stream>& stream, beast::flat_buffer& buffer) {
    if (!stream) {
      stream.emplace(co_await net::this_coro::executor);
      stream->expires_after(timeout);
      if (auto [ec, ep] = co_await stream->async_connect(endpoints, kToken); ec) co_return 0;
      beast::error_code ignored;
      stream->socket().set_option(tcp::no_delay(true), ignored);
    }
    http::request<http::string_body> req{r.method, target.base_path + r.path, 11};
    req.set(http::field::host, target.host + ":" + target.port);
    req.set(http::field::authorization, "Bearer " + r.key);
    req.set(http::field::user_agent, r.user_agent.empty() ? std::string("dg-play/0.1") : r.user_agent);
    if (!r.client_ip.empty()) req.set("x-forwarded-for", r.client_ip);
    if (demo_usage && r.completion_tokens >= 0)
      req.set("x-demo-completion-tokens", std::to_string(r.completion_tokens));
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = r.body;
    req.prepare_payload();
    // One deadline for the whole exchange, streams included.
    stream->expires_after(timeout);
    if (auto [ec, n] = co_await http::async_write(*stream, req, kToken); ec) co_return 0;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (auto [ec, n] = co_await http::async_read(*stream, buffer, parser, kToken); ec) co_return 0;
    if (!parser.get().keep_alive()) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.reset();
      buffer.clear();
    }
    co_return parser.get().result_int();
  }
};

void print_table(const Player& p, double elapsed_s) {
  std::printf("%-20s %9s %7s %7s %7s %7s %7s\n", "key", "requests", "200", "429", "403", "other", "errors");
  KeyStats total;
  for (const auto& [fp, s] : p.stats) {
    std::printf("%-20s %9llu %7llu %7llu %7llu %7llu %7llu\n", fp.c_str(), static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.ok), static_cast<unsigned long long>(s.throttled),
                static_cast<unsigned long long>(s.blocked), static_cast<unsigned long long>(s.other),
                static_cast<unsigned long long>(s.errors));
    total.add(s);
  }
  std::printf("%-20s %9llu %7llu %7llu %7llu %7llu %7llu\n", "total", static_cast<unsigned long long>(total.requests),
              static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(total.throttled),
              static_cast<unsigned long long>(total.blocked), static_cast<unsigned long long>(total.other),
              static_cast<unsigned long long>(total.errors));
  std::printf("%zu keys, %llu requests in %.2f s (%.1f req/s), max schedule lag %.0f ms\n", p.stats.size(),
              static_cast<unsigned long long>(total.requests), elapsed_s,
              elapsed_s > 0 ? static_cast<double>(total.requests) / elapsed_s : 0.0, p.max_lag_ms);
}

json::object stats_json(const KeyStats& s) {
  return json::object{{"requests", s.requests}, {"200", s.ok},       {"429", s.throttled},
                      {"403", s.blocked},       {"other", s.other}, {"errors", s.errors}};
}

bool write_json(const Player& p, const std::string& file, double elapsed_s, std::size_t skipped) {
  json::array keys;
  KeyStats total;
  for (const auto& [fp, s] : p.stats) {
    auto o = stats_json(s);
    o["key"] = fp;
    keys.push_back(std::move(o));
    total.add(s);
  }
  json::object statuses;
  for (const auto& [code, n] : p.status_counts) statuses[std::to_string(code)] = n;
  json::object doc{{"target", "http://" + p.target.host + ":" + p.target.port + p.target.base_path},
                   {"speed", p.speed},
                   {"concurrency", p.concurrency},
                   {"elapsed_s", elapsed_s},
                   {"skipped_lines", skipped},
                   {"max_lag_ms", p.max_lag_ms},
                   {"statuses", std::move(statuses)},
                   {"totals", stats_json(total)},
                   {"keys", std::move(keys)}};
  std::ofstream out(file);
  out << json::serialize(doc) << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string target_url, json_file;
  Player player;
  std::size_t limit = static_cast<std::size_t>(-1);
  std::vector<std::string> files;
  bool skip_bad_lines = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "dg-play: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](double min, double max) {
      const char* v = value();
      char* end = nullptr;
      const double d = std::strtod(v, &end);
      if (end == v || *end != '\0' || !std::isfinite(d) || d < min || d > max) {
        std::cerr << "dg-play: invalid value '" << v << "' for " << arg << "\n";
        std::exit(2);
      }
      return d;
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    } else if (arg == "--target") {
      target_url = value();
    } else if (arg == "--speed") {
      player.speed = number(0, 1e9);
    } else if (arg == "--concurrency") {
      player.concurrency = static_cast<std::size_t>(number(1, 10000));
    } else if (arg == "--timeout-ms") {
      player.timeout = std::chrono::milliseconds(static_cast<long long>(number(1, 3600000)));
    } else if (arg == "--skip-bad-lines") {
      skip_bad_lines = true;
    } else if (arg == "--demo-usage") {
      player.demo_usage = true;
    } else if (arg == "--json") {
      json_file = value();
    } else if (arg == "--limit") {
      limit = static_cast<std::size_t>(number(0, 1e15));
    } else if (arg.starts_with("-")) {
      std::cerr << "dg-play: unknown option " << arg << "\n";
      print_usage(std::cerr);
      return 2;
    } else {
      files.emplace_back(arg);
    }
  }
  const auto target = parse_target(target_url);
  if (!target || files.empty()) {
    if (!target) std::cerr << "dg-play: --target http://HOST:PORT is required\n";
    if (files.empty()) std::cerr << "dg-play: no traffic file given\n";
    print_usage(std::cerr);
    return 2;
  }
  player.target = *target;

  std::size_t skipped = 0;
  for (const auto& f : files) skipped += load_records(f, player.records, limit);
  // Several files are merged by time; a stable sort keeps each file's order.
  std::stable_sort(player.records.begin(), player.records.end(),
                   [](const Record& a, const Record& b) { return a.ts < b.ts; });

  net::io_context ioc{1};
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  for (const auto& e : resolver.resolve(player.target.host, player.target.port, ec)) player.endpoints.push_back(e.endpoint());
  if (ec || player.endpoints.empty()) {
    std::cerr << "dg-play: cannot resolve " << player.target.host << ":" << player.target.port << ": " << ec.message()
              << "\n";
    return 2;
  }

  player.start = Clock::now();
  const std::size_t workers = std::max<std::size_t>(1, std::min(player.concurrency, player.records.size()));
  for (std::size_t i = 0; i < workers; ++i)
    net::co_spawn(ioc, player.worker(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  ioc.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - player.start).count();

  print_table(player, elapsed);
  if (skipped) std::cerr << "dg-play: skipped " << skipped << " bad line(s)\n";
  if (!json_file.empty() && !write_json(player, json_file, elapsed, skipped)) {
    std::cerr << "dg-play: cannot write " << json_file << "\n";
    return 1;
  }
  return skipped && !skip_bad_lines ? 1 : 0;
}
