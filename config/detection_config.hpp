#pragma once
/// Parses the `detection` section of the config into a validated
/// detectors::EngineConfig. Strict: unknown keys, wrong types and values out
/// of range are ConfigError with `file:line:column`. Absent keys keep the
/// defaults documented in detectors/engine_config.hpp. Durations are numbers
/// of seconds or strings with a unit: "90s", "5m", "1h", "3d".
///
///   auto root = load_yaml_file(path);
///   YamlSection top(root, path);
///   if (auto d = top.child("detection")) cfg = parse_detection_config(*d);
///
/// See config/detection.example.yaml for every key with its meaning.

#include "config/yaml_reader.hpp"
#include "detectors/engine_config.hpp"

namespace dg::config {

/// Reads and validates the section (calls `section.close()`: throws every error).
detectors::EngineConfig parse_detection_config(YamlSection& section);

struct Config;
/// The `detection:` section of a loaded config file (defaults when absent).
/// Throws ConfigError (`file:line:column: reason`).
detectors::EngineConfig load_detection_config(const Config& cfg);

/// Parses a duration ("90s", "5m", "1h", "3d", or a number of seconds).
/// Returns a negative value when the text is not a duration.
double parse_duration_seconds(const std::string& text);

}  // namespace dg::config
