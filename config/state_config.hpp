#pragma once
/// The `state:` section of the main config: where shared state lives. The
/// default (`backend: memory`, or no section) keeps everything in this
/// process; `backend: redis` shares decisions across a fleet of instances
/// through one Redis (gateway/fleet/, docs/fleet.md). Not hot-reloaded.
///
///   state:
///     backend: redis
///     url: redis://10.0.0.5:6379/0
///     password_env: DG_REDIS_PASSWORD   # AUTH; never logged
///     fail: open                        # open | closed (503 while Redis is unreachable)
///     prefix: dg                        # Redis key and channel prefix
///     instance: api-1                   # default: <hostname>-<pid>

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace dg::config {

enum class StateBackend { Memory, Redis };
enum class StateFailMode { Open, Closed };

struct StateConfig {
  StateBackend backend = StateBackend::Memory;
  std::string host = "127.0.0.1";  ///< from url
  std::uint16_t port = 6379;       ///< from url
  int db = 0;                      ///< from url's path (SELECT)
  std::string password;            ///< resolved from password_env / password_file / password (never logged)
  StateFailMode fail = StateFailMode::Open;
  std::string prefix = "dg";
  std::string instance;            ///< "" = <hostname>-<pid>, chosen at start
};

/// Parses `redis://host[:port][/db]` into `c` (host, port, db). Returns "" or
/// the reason it is not one.
std::string parse_redis_url(const std::string& url, StateConfig& c);

/// Reads the section (calls close()). Throws ConfigError (`file:line:column: reason`).
StateConfig parse_state_config(YamlSection& section);

/// The `state` section of a loaded config (defaults when absent).
StateConfig load_state_config(const Config& cfg);

}  // namespace dg::config
