#include "gateway/observability/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace dg::gateway::metrics {

namespace {

void atomic_add(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

void Gauge::add(double d) noexcept { atomic_add(value_, d); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  // Prometheus buckets are `le` (less than or equal): the first bound >= v.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  auto idx = static_cast<std::size_t>(it - bounds_.begin());
  buckets_[idx].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // Concurrent observers may have bumped a bucket but not yet the count; the
  // bucket total is the consistent view a scraper expects (+Inf == _count).
  s.count = running;
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // Shortest text that parses back to the same double (0.1, not 0.10000000000000001).
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(v);
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, MetricType type)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), type_(type) {}

std::string FamilyBase::label_text(const std::vector<std::string>& values, std::string_view extra) const {
  if (label_names_.empty() && extra.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    if (i) out.push_back(',');
    out += label_names_[i];
    out += "=\"";
    out += escape_label_value(i < values.size() ? values[i] : std::string_view{});
    out.push_back('"');
  }
  if (!extra.empty()) {
    if (!label_names_.empty()) out.push_back(',');
    out += extra;
  }
  out.push_back('}');
  return out;
}

template <class M>
void Family<M>::render(std::string& out) const {
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " " + type_name(type_) + "\n";
  std::shared_lock lock(mutex_);
  for (const auto& s : series_) {
    if constexpr (std::is_same_v<M, Histogram>) {
      auto snap = s.metric->snapshot();
      for (std::size_t i = 0; i <= snap.bounds.size(); ++i) {
        std::string le = "le=\"" + (i < snap.bounds.size() ? format_value(snap.bounds[i]) : std::string("+Inf")) + "\"";
        out += name_ + "_bucket" + label_text(s.labels, le) + " " + std::to_string(snap.cumulative[i]) + "\n";
      }
      out += name_ + "_sum" + label_text(s.labels) + " " + format_value(snap.sum) + "\n";
      out += name_ + "_count" + label_text(s.labels) + " " + std::to_string(snap.count) + "\n";
    } else if constexpr (std::is_same_v<M, Counter>) {
      out += name_ + label_text(s.labels) + " " + std::to_string(s.metric->value()) + "\n";
    } else {
      out += name_ + label_text(s.labels) + " " + format_value(s.metric->value()) + "\n";
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::add(std::unique_ptr<FamilyBase> family) {
  std::lock_guard lock(mutex_);
  for (const auto& f : families_)
    if (f->name() == family->name()) throw std::invalid_argument("metric registered twice: " + family->name());
  families_.push_back(std::move(family));
}

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
  auto f = std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names), MetricType::Counter);
  auto& ref = *f;
  add(std::move(f));
  return ref;
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  auto f = std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names), MetricType::Gauge);
  auto& ref = *f;
  add(std::move(f));
  return ref;
}

GaugeFamily& Registry::float_counter(std::string name, std::string help, std::vector<std::string> label_names) {
  auto f = std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names), MetricType::Counter);
  auto& ref = *f;
  add(std::move(f));
  return ref;
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                                     std::vector<std::string> label_names) {
  auto f = std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                                             MetricType::Histogram, std::move(bounds));
  auto& ref = *f;
  add(std::move(f));
  return ref;
}

std::uint64_t Registry::on_scrape(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  auto id = next_callback_id_++;
  callbacks_.emplace_back(id, std::move(callback));
  return id;
}

void Registry::remove_callback(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(callbacks_, [id](const auto& c) { return c.first == id; });
}

std::string Registry::render_prometheus() const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, cb] : callbacks_) cb();
  std::string out;
  out.reserve(4096);
  for (const auto& f : families_) f->render(out);
  return out;
}

}  // namespace dg::gateway::metrics
