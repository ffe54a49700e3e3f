#pragma once
/// A small thread-safe metrics registry with Prometheus text exposition
/// (format 0.0.4).
///
/// Hot path: Counter, Gauge and Histogram are plain atomics; incrementing one
/// never locks or allocates. A labelled series is obtained once from its
/// family (`family.with({"chat_completions", "200"})`, which locks and may
/// allocate the first time only) and the returned reference is cached by the
/// caller; references stay valid for the registry's lifetime.
///
/// Scrape path: `Registry::render_prometheus()` walks the families under their
/// locks and calls the registered gauge callbacks (e.g. "keys tracked", read
/// from the detection engine at scrape time).

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dg::gateway::metrics {

/// Content type of the text exposition format served at /metrics.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Monotonic counter.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }
  /// Mirrors a monotonic counter kept elsewhere (set from a scrape callback).
  void set(std::uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept;
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Fixed-bucket histogram. Bucket counts are stored per bucket and made
/// cumulative at render time, so an observation touches one bucket.
class Histogram {
 public:
  /// `bounds` are the finite upper bounds, strictly increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> bounds;            ///< finite upper bounds
    std::vector<std::uint64_t> cumulative; ///< bounds.size() + 1 entries, the last is +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

/// Exponential bucket bounds: start, start*factor, ... (`count` bounds).
std::vector<double> exponential_buckets(double start, double factor, int count);

enum class MetricType { Counter, Gauge, Histogram };

/// Escapes a label value for the text format: backslash, double quote, newline.
std::string escape_label_value(std::string_view v);
/// Escapes HELP text: backslash and newline.
std::string escape_help(std::string_view v);
/// Formats a sample value the way Prometheus parses it (+Inf, -Inf, NaN, integers without exponent).
std::string format_value(double v);

/// Base of a named metric family with a fixed list of label names.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, MetricType type);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  /// Appends `# HELP`, `# TYPE` and every series of the family.
  virtual void render(std::string& out) const = 0;

 protected:
  /// `{a="x",b="y"}` (empty string when there are no labels), plus `extra` label.
  std::string label_text(const std::vector<std::string>& values, std::string_view extra = {}) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  MetricType type_;
};

/// A family of series of type M (Counter, Gauge or Histogram) keyed by label values.
template <class M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, MetricType type,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), std::move(label_names), type), bounds_(std::move(bounds)) {}

  /// The series for these label values (one per label name, in order).
  /// Locks; allocates only when the series is new. Cache the reference.
  M& with(std::initializer_list<std::string_view> values) { return with_span(values.begin(), values.size()); }
  M& with(const std::vector<std::string>& values) {
    std::vector<std::string_view> v(values.begin(), values.end());
    return with_span(v.data(), v.size());
  }

  void render(std::string& out) const override;

  /// Number of series created so far.
  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return series_.size();
  }

 private:
  struct Series {
    std::vector<std::string> labels;
    std::unique_ptr<M> metric;
  };
  M& with_span(const std::string_view* values, std::size_t n);

  std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::vector<Series> series_;  // pointers to metrics stay stable across growth
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

/// Owns the families and the scrape-time gauge callbacks. Thread-safe.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a family; the name must be unique (throws std::invalid_argument
  /// otherwise — registration is start-up code).
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  /// A counter whose value is not a whole number (`process_cpu_seconds_total`):
  /// gauges underneath, set from a scrape callback, exposed as TYPE counter.
  GaugeFamily& float_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help, std::vector<double> bounds,
                             std::vector<std::string> label_names = {});

  /// Sets `gauge` from `read()` just before every scrape. `read` must be
  /// thread-safe and cheap; it runs on the scraping thread. The returned id
  /// removes the callback (`remove_callback`) before what it reads goes away.
  std::uint64_t on_scrape(std::function<void()> callback);
  void remove_callback(std::uint64_t id);

  /// Text exposition format 0.0.4 of every family, in registration order.
  std::string render_prometheus() const;

 private:
  void add(std::unique_ptr<FamilyBase> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks_;
  std::uint64_t next_callback_id_ = 1;
};

// ---- template implementation ----

template <class M>
M& Family<M>::with_span(const std::string_view* values, std::size_t n) {
  auto matches = [&](const Series& s) {
    if (s.labels.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (s.labels[i] != values[i]) return false;
    return true;
  };
  {
    std::shared_lock lock(mutex_);
    for (const auto& s : series_)
      if (matches(s)) return *s.metric;
  }
  std::unique_lock lock(mutex_);
  for (const auto& s : series_)
    if (matches(s)) return *s.metric;
  Series s;
  s.labels.assign(values, values + n);
  // A wrong label count is a programming error; pad or cut so rendering stays valid.
  s.labels.resize(label_names_.size());
  if constexpr (std::is_same_v<M, Histogram>) s.metric = std::make_unique<M>(bounds_);
  else s.metric = std::make_unique<M>();
  series_.push_back(std::move(s));
  return *series_.back().metric;
}

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace dg::gateway::metrics
