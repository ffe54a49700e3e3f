#include "sim/arrivals.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dg::sim {
namespace {

/// One inter-arrival of mean `mean` and coefficient of variation `cv`.
double gap(double mean, double cv, Rng& rng) {
  cv = std::clamp(cv, 0.05, 6.0);
  const double k = 1.0 / (cv * cv);
  return rng.gamma(k, mean / k);
}

}  // namespace

std::vector<double> servegen_arrivals(const ClientTrace& trace, double trace_offset_s, double scale, double start,
                                      double end, Rng& rng) {
  std::vector<double> out;
  if (trace.windows.empty() || scale <= 0) return out;
  const double span = static_cast<double>(trace.windows.size()) * 600;
  for (double ws = start; ws < end; ws += 600) {
    const double trace_t = std::fmod(trace_offset_s + (ws - start), span);
    const auto idx = std::min(trace.windows.size() - 1, static_cast<std::size_t>(trace_t / 600));
    const RateWindow& w = trace.windows[idx];
    const double rate = w.rate * scale;
    if (rate <= 0) continue;
    const double mean = 1.0 / rate;
    const double cv = w.cv > 0 ? w.cv : 1.0;
    const double wend = std::min(ws + 600, end);
    double t = ws + rng.uniform() * gap(mean, cv, rng);
    while (t < wend) {
      out.push_back(t);
      t += gap(mean, cv, rng);
    }
  }
  return out;
}

DailyProfile DailyProfile::flat() {
  DailyProfile p{};
  for (double& w : p.hour_weight) w = 1;
  return p;
}

DailyProfile DailyProfile::office(double peak_hour_utc, double night_floor) {
  DailyProfile p{};
  for (int h = 0; h < 24; ++h) {
    double d = std::fabs(h + 0.5 - peak_hour_utc);
    d = std::min(d, 24 - d);
    const double day = std::exp(-(d * d) / (2 * 3.0 * 3.0));
    p.hour_weight[h] = night_floor + (1 - night_floor) * day;
  }
  return p;
}

std::vector<double> profiled_arrivals(double per_day, double cv, const DailyProfile& profile, double start, double end,
                                      Rng& rng) {
  std::vector<double> out;
  if (per_day <= 0) return out;
  double max_w = 0, sum_w = 0;
  for (double w : profile.hour_weight) {
    max_w = std::max(max_w, w);
    sum_w += w;
  }
  if (max_w <= 0) return out;
  // Thinning: run the process at the peak rate and keep each arrival with
  // probability weight/max. Mean daily volume stays `per_day`.
  const double peak_rate = per_day / 86400.0 * (24 * max_w / sum_w);
  const double mean = 1.0 / peak_rate;
  double t = start + rng.uniform() * gap(mean, cv, rng);
  while (t < end) {
    const auto hour = static_cast<int>(std::fmod(t, 86400.0) / 3600.0) % 24;
    if (rng.uniform() * max_w < profile.hour_weight[hour]) out.push_back(t);
    t += gap(mean, cv, rng);
  }
  return out;
}

int day_of_week(double t, double tz_offset_h) {
  const auto days = static_cast<std::int64_t>(std::floor((t + tz_offset_h * 3600) / 86400));
  return static_cast<int>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
}

void thin_weekends(std::vector<double>& times, double tz_offset_h, double weekend_keep, Rng& rng) {
  std::vector<double> kept;
  kept.reserve(times.size());
  for (double t : times) {
    const int dow = day_of_week(t, tz_offset_h);
    if ((dow != 0 && dow != 6) || rng.chance(weekend_keep)) kept.push_back(t);
  }
  times = std::move(kept);
}

void append_run(std::vector<double>& out, double at, std::size_t count, double rate, double cv, double end, Rng& rng) {
  double t = at;
  for (std::size_t i = 0; i < count && t < end; ++i) {
    out.push_back(t);
    t += gap(1.0 / rate, cv, rng);
  }
}

}  // namespace dg::sim
