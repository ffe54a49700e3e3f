#pragma once
/// Small formatting helpers for campaign evidence (std only).

#include <cstdint>
#include <string>

namespace dg::detectors::campaign {

/// "2026-11-23 02:00 UTC" for Unix seconds.
std::string format_utc(double ts);
/// "02:00 UTC".
std::string format_utc_time(double ts);
/// "3.5 h", "25 min", "2.1 d".
std::string format_duration(double seconds);
/// 16 hex digits.
std::string hex16(std::uint64_t v);
/// 1,234,567
std::string with_commas(std::uint64_t v);

}  // namespace dg::detectors::campaign
