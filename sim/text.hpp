#pragma once
/// Text helpers shared by the personas.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "sim/data_set.hpp"
#include "sim/rng.hpp"

namespace dg::sim {

/// At most `max_bytes` of `s`, cut at a UTF-8 character boundary.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

/// Real-looking prose of about `chars` characters, stitched from the ShareGPT corpus.
std::string filler_prose(const DataSet& data, Rng& rng, std::size_t chars);

/// Source-code-looking text of about `chars` characters.
std::string filler_code(Rng& rng, std::size_t chars);

/// Replaces every "{name}" in `tmpl` by `value`.
std::string fill_slot(std::string tmpl, std::string_view name, std::string_view value);

/// {"role": role, "content": content}
boost::json::object message(std::string_view role, std::string_view content);

}  // namespace dg::sim
