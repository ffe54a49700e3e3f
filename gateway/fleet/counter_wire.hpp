#pragma once
/// Fleet mode, shared enforcement counters (issue #14): the wire part. Pure
/// functions, no I/O; counter_sync.hpp sends these commands from the
/// control-plane loop.
///
/// One Redis hash per (counter kind, key fingerprint, window length, window
/// index), window index = floor(unix_time / window), so every instance names
/// the same window without talking to the others:
///
///   <prefix>:cnt:<t|b>:<key_fp>:<window_ms>:<index>   field = instance, value = its count
///
/// An instance writes its own *absolute* count of the window (HSET, not
/// INCRBY): a write repeated after a timeout whose outcome is unknown, or
/// replayed after Redis restarted empty, counts once, so a resync is "write
/// every live window again". The script returns, per key, the sum of the
/// *other* instances' counts: what the request path adds to its own count.
/// One EVALSHA carries a whole batch of keys (coalesced flush).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dg::gateway::fleet {

enum class CounterKind : std::uint8_t {
  Throttle,  ///< admitted requests of a throttled key
  Budget,    ///< output tokens counted against a key's budget
};

/// floor(now / window_s); window_s > 0.
std::int64_t counter_window_index(double now, double window_s) noexcept;

/// The window hash's name (see above). `window_s` is rounded to whole ms.
std::string counter_key(std::string_view prefix, CounterKind kind, std::string_view key_fp, double window_s,
                        std::int64_t index);

/// One key of a flush: this instance's absolute count in the window, or
/// `own < 0` to only read the others' sum.
struct CounterUpdate {
  std::string key;
  std::int64_t own = -1;      ///< < 0: read only (no write, no TTL change)
  std::int64_t ttl_ms = 0;    ///< PEXPIRE after a write: two windows (the previous window is still read)
};

/// The Lua script (KEYS = window hashes; ARGV[1] = instance, then per key
/// its own count ('' = read only) and TTL in ms). Returns an array of
/// integers: per key, the other instances' sum.
const std::string& counter_script();

/// The script's SHA1 as SCRIPT LOAD returns it, computed locally.
const std::string& counter_script_sha();

/// The command for one batch: EVALSHA <sha> <n> keys... <instance> (own ttl)...
/// With `by_sha` false, EVAL with the script text (NOSCRIPT fallback).
std::vector<std::string> counter_command(std::string_view instance, const std::vector<CounterUpdate>& batch,
                                         bool by_sha = true);

}  // namespace dg::gateway::fleet
