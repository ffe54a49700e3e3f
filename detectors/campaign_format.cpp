#include "detectors/campaign_format.hpp"

#include <cmath>
#include <cstdio>

namespace dg::detectors::campaign {
namespace {

struct Civil {
  long long y;
  unsigned m, d, hh, mm;
};

// Howard Hinnant's days -> civil date algorithm (proleptic Gregorian).
Civil civil_of(double ts) {
  auto secs = static_cast<long long>(std::floor(ts));
  long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  long long rem = secs - days * 86400;
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long y = static_cast<long long>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return Civil{y, m, d, static_cast<unsigned>(rem / 3600), static_cast<unsigned>((rem % 3600) / 60)};
}

}  // namespace

std::string format_utc(double ts) {
  auto c = civil_of(ts);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02u:%02u UTC", c.y, c.m, c.d, c.hh, c.mm);
  return buf;
}

std::string format_utc_time(double ts) {
  auto c = civil_of(ts);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u:%02u UTC", c.hh, c.mm);
  return buf;
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 0) seconds = 0;
  if (seconds < 3600) std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  else if (seconds < 2 * 86400) std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  else std::snprintf(buf, sizeof buf, "%.1f d", seconds / 86400);
  return buf;
}

std::string hex16(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[static_cast<std::size_t>(i)];
    int left = n - 1 - i;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return out;
}

}  // namespace dg::detectors::campaign
