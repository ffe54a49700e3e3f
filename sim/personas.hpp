#pragma once
/// Factories of the built-in personas. Each takes its own random stream, so a
/// persona's traffic depends only on the seed and its position in the
/// population. `volume_scale` multiplies the persona's usual daily volume
/// (1 for a realistic population; larger for the few-minute demo).

#include <optional>
#include <string>
#include <vector>

#include "sim/persona.hpp"

namespace dg::sim {

/// Ordinary customers whose request rates follow a ServeGen client trace
/// (chat apps, code assistants, document tools). `nat_pool`, when not
/// empty, is a shared corporate NAT some keys send from.
PersonaPtr make_benign_persona(const DataSet& data, Rng rng, const std::vector<std::string>& nat_pool,
                               double volume_scale);

/// Honest heavy users that look a bit like distillers.
enum class LookalikeKind { BatchClassifier, EvalHarness, Rag, CodingAgent };
inline constexpr LookalikeKind kLookalikeKinds[] = {LookalikeKind::BatchClassifier, LookalikeKind::EvalHarness,
                                                     LookalikeKind::Rag, LookalikeKind::CodingAgent};
PersonaPtr make_lookalike_persona(LookalikeKind kind, const DataSet& data, Rng rng, double volume_scale);

/// Keys harvesting outputs to train another model.
enum class DistillerKind { Alpaca, Gsm8kReasoning, Logprob, SlowLow };
inline constexpr DistillerKind kDistillerKinds[] = {DistillerKind::Alpaca, DistillerKind::Gsm8kReasoning,
                                                     DistillerKind::Logprob, DistillerKind::SlowLow};
/// What a campaign (or a key mixing extraction into honest traffic) may set
/// instead of the persona's own random choice.
struct DistillerOverrides {
  std::optional<double> per_day;             ///< requests per day (volume_scale not applied)
  std::optional<ClientIdentity> identity;    ///< key, addresses, user agent
  std::optional<KeyLabel> label;             ///< e.g. {Campaign, "campaign/hydra", "c-1"}
  std::optional<std::string> model;
  std::optional<bool> cover_traffic;         ///< false: no benign-looking cover requests
};
PersonaPtr make_distiller_persona(DistillerKind kind, const DataSet& data, Rng rng, double volume_scale,
                                  const DistillerOverrides& overrides = {});

}  // namespace dg::sim
