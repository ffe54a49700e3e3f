#pragma once
/// The standard Prometheus `process_*` metrics, read from /proc/self when
/// /metrics is scraped (on the scraping thread, never on the request path):
///   process_resident_memory_bytes, process_virtual_memory_bytes   gauge
///   process_cpu_seconds_total                                     counter (user + system)
///   process_open_fds, process_max_fds                             gauge
///   process_start_time_seconds                                    gauge   Unix seconds
/// and `dg_build_info{version,commit} 1`. Linux only: elsewhere the process
/// values stay 0.

#include <cstdint>
#include <optional>

#include "gateway/observability/dg_metrics.hpp"

namespace dg::gateway {

struct ProcessSample {
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double cpu_seconds_total = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;
};

/// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd; nullopt
/// when /proc is not there.
std::optional<ProcessSample> read_process_sample();

/// Registers the scrape callback that mirrors read_process_sample() into
/// `m`'s process families. Returns its id (remove it before `m` goes away).
std::uint64_t publish_process_metrics(DgMetrics& m);

}  // namespace dg::gateway
