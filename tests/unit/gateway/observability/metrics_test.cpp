#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gateway/observability/dg_metrics.hpp"
#include "gateway/observability/metrics.hpp"

using namespace dg::gateway;
using namespace dg::gateway::metrics;

namespace {

/// A strict little parser of the text exposition format 0.0.4, independent of
/// the renderer: returns samples keyed by `name{k="v",...}` with labels in
/// their written order and values unescaped, plus the HELP and TYPE lines.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> helps;
  std::vector<std::string> order;  // sample keys in order of appearance
};

std::string unescape_label(std::string_view s, std::size_t& i) {
  std::string out;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return out;
    if (c == '\\') {
      if (++i >= s.size()) throw std::runtime_error("dangling escape");
      char e = s[i];
      if (e == 'n') out.push_back('\n');
      else if (e == '\\') out.push_back('\\');
      else if (e == '"') out.push_back('"');
      else throw std::runtime_error(std::string("bad escape \\") + e);
    } else if (c == '\n') {
      throw std::runtime_error("raw newline in label value");
    } else {
      out.push_back(c);
    }
  }
  throw std::runtime_error("unterminated label value");
}

double parse_value(const std::string& v) {
  if (v == "+Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::size_t used = 0;
  double d = std::stod(v, &used);
  if (used != v.size()) throw std::runtime_error("bad value '" + v + "'");
  return d;
}

Exposition parse(const std::string& text) {
  Exposition e;
  std::size_t pos = 0;
  REQUIRE((text.empty() || text.back() == '\n'));
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (line.starts_with("# HELP ")) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      e.helps[rest.substr(0, sp)] = rest.substr(sp + 1);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      e.types[rest.substr(0, sp)] = rest.substr(sp + 1);
      continue;
    }
    if (line.starts_with("#")) continue;
    std::size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
    std::string key = line.substr(0, i);
    if (key.empty()) throw std::runtime_error("no metric name: " + line);
    if (i < line.size() && line[i] == '{') {
      key += '{';
      ++i;
      bool first = true;
      while (line.at(i) != '}') {
        auto eq = line.find('=', i);
        std::string lname = line.substr(i, eq - i);
        if (line.at(eq + 1) != '"') throw std::runtime_error("label value not quoted: " + line);
        i = eq + 2;
        std::string lval = unescape_label(line, i);
        ++i;  // closing quote
        if (!first) key += ',';
        first = false;
        key += lname + "=\"" + lval + "\"";
        if (line.at(i) == ',') ++i;
      }
      key += '}';
      ++i;
    }
    if (line.at(i) != ' ') throw std::runtime_error("no space before value: " + line);
    e.samples[key] = parse_value(line.substr(i + 1));
    e.order.push_back(key);
  }
  return e;
}

}  // namespace

TEST_CASE("metrics: counters and gauges render and parse back with their labels", "[metrics]") {
  Registry r;
  auto& c = r.counter("t_requests_total", "Requests.", {"route", "status"});
  auto& g = r.gauge("t_inflight", "In flight.");
  c.with({"chat", "200"}).inc(3);
  c.with({"chat", "429"}).inc();
  c.with({"chat", "200"}).inc(2);
  g.with({}).set(7.5);
  g.with({}).dec();

  auto e = parse(r.render_prometheus());
  CHECK(e.types["t_requests_total"] == "counter");
  CHECK(e.types["t_inflight"] == "gauge");
  CHECK(e.helps["t_requests_total"] == "Requests.");
  CHECK(e.samples.at("t_requests_total{route=\"chat\",status=\"200\"}") == 5);
  CHECK(e.samples.at("t_requests_total{route=\"chat\",status=\"429\"}") == 1);
  CHECK(e.samples.at("t_inflight") == 6.5);
  CHECK(c.size() == 2);
}

TEST_CASE("metrics: label values and help text are escaped", "[metrics]") {
  Registry r;
  auto& c = r.counter("t_weird_total", "Line one\nback\\slash", {"v"});
  const std::string nasty = "a\"b\\c\nd";
  c.with({nasty}).inc(4);
  auto text = r.render_prometheus();
  CHECK(text.find("# HELP t_weird_total Line one\\nback\\\\slash\n") != std::string::npos);
  CHECK(text.find(R"(t_weird_total{v="a\"b\\c\nd"} 4)") != std::string::npos);
  auto e = parse(text);
  CHECK(e.samples.at("t_weird_total{v=\"" + nasty + "\"}") == 4);
}

TEST_CASE("metrics: histogram buckets are cumulative with +Inf, _sum and _count", "[metrics]") {
  Registry r;
  auto& h = r.histogram("t_latency_seconds", "Latency.", {0.01, 0.1, 1}).with({});
  for (double v : {0.005, 0.01, 0.05, 0.5, 0.7, 3.0}) h.observe(v);
  auto e = parse(r.render_prometheus());
  CHECK(e.types["t_latency_seconds"] == "histogram");
  CHECK(e.samples.at("t_latency_seconds_bucket{le=\"0.01\"}") == 2);  // le is inclusive
  CHECK(e.samples.at("t_latency_seconds_bucket{le=\"0.1\"}") == 3);
  CHECK(e.samples.at("t_latency_seconds_bucket{le=\"1\"}") == 5);
  CHECK(e.samples.at("t_latency_seconds_bucket{le=\"+Inf\"}") == 6);
  CHECK(e.samples.at("t_latency_seconds_count") == 6);
  CHECK(e.samples.at("t_latency_seconds_sum") == Approx(4.265));
  // Buckets appear in increasing order and never decrease.
  double prev = -1;
  for (const auto& k : e.order)
    if (k.starts_with("t_latency_seconds_bucket")) {
      CHECK(e.samples.at(k) >= prev);
      prev = e.samples.at(k);
    }
}

TEST_CASE("metrics: labelled histograms put `le` after the family labels", "[metrics]") {
  Registry r;
  auto& f = r.histogram("t_h", "H.", {1, 2}, {"route"});
  f.with({"x"}).observe(1.5);
  auto e = parse(r.render_prometheus());
  CHECK(e.samples.at("t_h_bucket{route=\"x\",le=\"1\"}") == 0);
  CHECK(e.samples.at("t_h_bucket{route=\"x\",le=\"2\"}") == 1);
  CHECK(e.samples.at("t_h_count{route=\"x\"}") == 1);
}

TEST_CASE("metrics: concurrent increments through cached handles are all counted", "[metrics]") {
  Registry r;
  auto& c = r.counter("t_c_total", "C.").with({});
  auto& h = r.histogram("t_hh", "H.", {0.5}).with({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(i % 2 ? 0.25 : 1.0);
      }
    });
  for (auto& t : threads) t.join();
  auto e = parse(r.render_prometheus());
  CHECK(e.samples.at("t_c_total") == 40000);
  CHECK(e.samples.at("t_hh_bucket{le=\"0.5\"}") == 20000);
  CHECK(e.samples.at("t_hh_count") == 40000);
  CHECK(e.samples.at("t_hh_sum") == Approx(20000 * 0.25 + 20000 * 1.0));
}

TEST_CASE("metrics: duplicate family names are refused", "[metrics]") {
  Registry r;
  r.counter("t_x", "X.");
  CHECK_THROWS_AS(r.gauge("t_x", "X again."), std::invalid_argument);
}

TEST_CASE("metrics: DgMetrics families, request counting and scrape callbacks", "[metrics]") {
  Registry r;
  DgMetrics m(r);
  using dg::detectors::Endpoint;
  m.count_request(Endpoint::ChatCompletions, 200, "allow");
  m.count_request(Endpoint::ChatCompletions, 200, "allow");
  m.count_request(Endpoint::ChatCompletions, 429, "throttle");
  m.count_request(Endpoint::Embeddings, 418, "allow");      // uncommon status: slow path
  m.count_request(Endpoint::Completions, 200, "custom");    // unknown action: counted as "other"
  m.observe_added_latency(0.0003);
  m.observe_upstream_latency(0.2);
  m.config_reloads_ok.inc();
  m.config_reloads_failed.inc(2);
  m.active_decisions.with({"block"}).set(3);

  EngineGaugeSource src{12, 2, 5, 1};
  auto id = publish_engine_gauges(m, [&] { return src; });

  auto e = parse(m.render_prometheus());
  CHECK(DgMetrics::content_type() == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(e.samples.at(R"(dg_requests_total{route="chat_completions",status="200",action="allow"})") == 2);
  CHECK(e.samples.at(R"(dg_requests_total{route="chat_completions",status="429",action="throttle"})") == 1);
  CHECK(e.samples.at(R"(dg_requests_total{route="embeddings",status="418",action="allow"})") == 1);
  CHECK(e.samples.at(R"(dg_requests_total{route="completions",status="200",action="other"})") == 1);
  CHECK(e.samples.at("dg_added_latency_seconds_count") == 1);
  CHECK(e.samples.at("dg_upstream_latency_seconds_count") == 1);
  CHECK(e.samples.at(R"(dg_config_reloads_total{result="ok"})") == 1);
  CHECK(e.samples.at(R"(dg_config_reloads_total{result="failed"})") == 2);
  CHECK(e.samples.at(R"(dg_active_decisions{action="block"})") == 3);
  CHECK(e.samples.at("dg_keys_tracked") == 12);
  CHECK(e.samples.at("dg_campaigns_tracked") == 2);
  CHECK(e.samples.at(R"(dg_key_evictions_total{reason="idle"})") == 5);
  CHECK(e.samples.at(R"(dg_key_evictions_total{reason="cap"})") == 1);
  for (const char* name : {"dg_requests_total", "dg_added_latency_seconds", "dg_upstream_latency_seconds",
                           "dg_upstream_errors_total", "dg_detector_findings_total", "dg_active_decisions",
                           "dg_keys_tracked", "dg_campaigns_tracked", "dg_key_evictions_total",
                           "dg_alerts_enqueued_total", "dg_alerts_grouped_total", "dg_alert_queue_overflow_total",
                           "dg_alert_deliveries_total", "dg_alert_retries_total", "dg_alert_failures_total",
                           "dg_alert_dead_lettered_total", "dg_config_reloads_total"})
    CHECK(e.types.count(name) == 1);

  src.keys_tracked = 13;
  CHECK(parse(m.render_prometheus()).samples.at("dg_keys_tracked") == 13);
  r.remove_callback(id);
  src.keys_tracked = 99;
  CHECK(parse(m.render_prometheus()).samples.at("dg_keys_tracked") == 13);
}
