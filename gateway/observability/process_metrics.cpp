#include "gateway/observability/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace dg::gateway {

namespace {

/// Seconds since the epoch at boot (`btime` of /proc/stat); 0 when unknown.
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("btime ")) return std::strtod(line.c_str() + 6, nullptr);
  return 0;
}

double count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (const auto* e = ::readdir(dir))
    if (e->d_name[0] != '.') n += 1;
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

std::optional<ProcessSample> read_process_sample() {
  std::ifstream in("/proc/self/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and ')', so
  // fields are counted from the last ')'. After it: field 3 (state) onwards.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string f;
  double utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
  for (int field = 3; fields >> f && field <= 24; ++field) {
    if (field == 14) utime = std::strtod(f.c_str(), nullptr);
    else if (field == 15) stime = std::strtod(f.c_str(), nullptr);
    else if (field == 22) starttime = std::strtod(f.c_str(), nullptr);
    else if (field == 23) vsize = std::strtod(f.c_str(), nullptr);
    else if (field == 24) rss_pages = std::strtod(f.c_str(), nullptr);
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessSample s;
  s.cpu_seconds_total = ticks > 0 ? (utime + stime) / ticks : 0;
  s.start_time_seconds = ticks > 0 ? boot_time() + starttime / ticks : 0;
  s.virtual_memory_bytes = vsize;
  s.resident_memory_bytes = rss_pages * page;
  s.open_fds = count_open_fds();
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) s.max_fds = static_cast<double>(lim.rlim_cur);
  return s;
}

std::uint64_t publish_process_metrics(DgMetrics& m) {
  return m.registry.on_scrape([&m] {
    const auto s = read_process_sample();
    if (!s) return;
    m.process_resident_memory_bytes.set(s->resident_memory_bytes);
    m.process_virtual_memory_bytes.set(s->virtual_memory_bytes);
    m.process_cpu_seconds_total.set(s->cpu_seconds_total);
    m.process_open_fds.set(s->open_fds);
    m.process_max_fds.set(s->max_fds);
    m.process_start_time_seconds.set(s->start_time_seconds);
  });
}

}  // namespace dg::gateway
