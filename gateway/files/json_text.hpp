#pragma once
/// JSON text for the admin API, the audit log, the decision journal, the
/// capture log and the replay summary.
/// Boost.JSON writes every double in exponent form (a timestamp becomes
/// 1.7646912345E9, a count of 3 held as a double 3E0), which `jq`, shell
/// scripts and log pipelines read badly. Here a number is written as a
/// person would: integral values as integers, others in fixed point with the
/// shortest digits that read back to the same double; only magnitudes below
/// 1e-6 or from 1e21 up use an exponent (as JavaScript's Number#toString).
/// Infinities and NaN, which JSON cannot hold, become null.

#include <string>

#include <boost/json/value.hpp>

namespace dg::gateway {

/// Serializes `v` (compact, no spaces), numbers as described above.
std::string to_json_text(const boost::json::value& v);

/// Appends the text of one double to `out` (the rule above).
void append_json_number(double d, std::string& out);

}  // namespace dg::gateway
