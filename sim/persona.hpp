#pragma once
/// The extension point of the simulator: a Persona is one simulated client
/// (normally one API key; a campaign persona may use many keys, or rotate
/// them). A Scenario (scenario.hpp) builds a population of personas; the
/// generator merges their arrivals in event-time order and asks each persona
/// to render its records in its own arrival order, so a persona may keep
/// conversation state between records.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/data_set.hpp"
#include "sim/record.hpp"
#include "sim/rng.hpp"

namespace dg::sim {

/// Ground truth of a key, written to the labels file.
enum class KeyClass { Benign, Lookalike, Distiller, Campaign };
std::string_view to_string(KeyClass c) noexcept;

struct KeyLabel {
  KeyClass cls = KeyClass::Benign;
  std::string persona;   ///< e.g. "benign/chat", "lookalike/eval_harness", "distiller/logprob"
  std::string campaign;  ///< campaign id ("" when none)
  std::string group;     ///< benign keys that belong together, e.g. the users of one BYOK app ("" when none)
};

/// What every persona may read while scheduling and rendering.
struct SimContext {
  const DataSet& data;
  double start = 0;  ///< Unix seconds, inclusive
  double end = 0;    ///< Unix seconds, exclusive
};

class Persona {
 public:
  virtual ~Persona() = default;

  /// Every key this persona sends with, and its label.
  virtual std::vector<std::pair<std::string, KeyLabel>> labels() const = 0;

  /// Arrival times in [ctx.start, ctx.end), non-decreasing. Called once, first.
  virtual std::vector<double> schedule(const SimContext& ctx) = 0;

  /// The record of the next arrival `ts`; called once per scheduled arrival,
  /// in schedule order. Must set key, client, request and response fields.
  virtual SimRecord render(double ts, const SimContext& ctx) = 0;
};

using PersonaPtr = std::unique_ptr<Persona>;

/// Network identity of a key: addresses it sends from and its user agent.
struct ClientIdentity {
  std::string key;
  std::vector<std::string> ips;  ///< first is the primary address
  std::string user_agent;

  /// Primary address most of the time, the others now and then.
  const std::string& pick_ip(Rng& rng) const;

  /// A record at `ts` sent with this identity: key, an address, user agent.
  SimRecord start_record(double ts, Rng& rng) const;
};

/// Generates a fresh simulated API key ("sk-sim-" + 40 base62 characters).
std::string make_api_key(Rng& rng);
/// A random public-looking IPv4 address (no private/reserved ranges).
std::string random_public_ipv4(Rng& rng);
/// A random address inside the /24 of `ipv4`.
std::string same_slash24(const std::string& ipv4, Rng& rng);
/// A random IPv6 address in a random /48 of 2a0x::/16-style space.
std::string random_ipv6(Rng& rng);
/// A realistic client user agent (SDKs, curl, httpx, ...).
std::string random_user_agent(Rng& rng);
/// A plausible chat model name.
std::string random_model(Rng& rng);

/// Fills `r.prompt_tokens` from the body, caps `completion` at the body's
/// max tokens (times n), sets status (a small share of errors) and latency.
void finish_response(SimRecord& r, std::uint64_t completion, Rng& rng, double error_rate = 0.006);

}  // namespace dg::sim
