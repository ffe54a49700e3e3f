#pragma once
/// Arrival processes for personas.

#include <vector>

#include "sim/data_set.hpp"
#include "sim/rng.hpp"

namespace dg::sim {

/// Arrivals following a ServeGen client trace: each 600 s window has the
/// trace's rate times `scale` and renewal inter-arrivals with the window's
/// coefficient of variation (Gamma). `trace_offset_s` is where in the 14-day
/// trace the simulation starts (wraps around).
std::vector<double> servegen_arrivals(const ClientTrace& trace, double trace_offset_s, double scale, double start,
                                      double end, Rng& rng);

/// Daily activity profile: weight of each hour of the day (UTC).
struct DailyProfile {
  double hour_weight[24];
  static DailyProfile flat();
  /// Office hours centred on `peak_hour_utc` with a night floor in [0, 1].
  static DailyProfile office(double peak_hour_utc, double night_floor);
};

/// A renewal process of `per_day` requests a day on average, inter-arrival
/// coefficient of variation `cv` (0 < cv; 1 = Poisson), modulated by `profile`.
std::vector<double> profiled_arrivals(double per_day, double cv, const DailyProfile& profile, double start, double end,
                                      Rng& rng);

/// Keeps every weekday arrival and each Saturday/Sunday one with probability
/// `weekend_keep`; days are local to UTC + `tz_offset_h`.
void thin_weekends(std::vector<double>& times, double tz_offset_h, double weekend_keep, Rng& rng);

/// Day of the week of Unix time `t` at UTC + `tz_offset_h` (0 = Sunday).
int day_of_week(double t, double tz_offset_h);

/// `count` arrivals in a run starting at `at`, `rate` per second with cv.
void append_run(std::vector<double>& out, double at, std::size_t count, double rate, double cv, double end, Rng& rng);

}  // namespace dg::sim
