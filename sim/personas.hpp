#pragma once
/// Factories of the built-in personas. Each takes its own random stream, so a
/// persona's traffic depends only on the seed and its position in the
/// population. `volume_scale` multiplies the persona's usual daily volume
/// (1 for a realistic population; larger for the few-minute demo).

#include <optional>
#include <string>
#include <vector>

#include "sim/api_format.hpp"
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

/// Honest customers of the kinds a provider really has (customer_personas.cpp),
/// each in several shapes drawn from its random stream:
///   ReasoningCustomer   long answers by nature: chat `reasoning_effort`, Responses
///                       `reasoning`, Anthropic `thinking`, often streaming; ShareGPT prompts
///   Tutoring            one key for many students: a step-by-step tutor prompt, GSM8K-like
///                       questions without their answers, follow-ups, school hours
///   CotEval             a research group's chain-of-thought runs on public benchmarks at
///                       temperature 0: a few bounded runs of 1-3k requests, then quiet
///   SupportBot          one key, many end users: multi-turn support conversations
///   Summarization       a pipeline: long documents, one template, short outputs
///   Translation         a pipeline: one template, output about as long as the input
///   ApiRouter           one key, many end users and models, varied content and formats
///   LogprobCalibration  logprobs at temperature 0, tiny max_tokens, a fixed eval set re-run
enum class CustomerKind {
  ReasoningCustomer, Tutoring, CotEval, SupportBot, Summarization, Translation, ApiRouter, LogprobCalibration
};
inline constexpr CustomerKind kCustomerKinds[] = {
    CustomerKind::ReasoningCustomer, CustomerKind::Tutoring,      CustomerKind::CotEval,
    CustomerKind::SupportBot,        CustomerKind::Summarization, CustomerKind::Translation,
    CustomerKind::ApiRouter,         CustomerKind::LogprobCalibration};
/// "benign/reasoning_customer", "benign/tutoring", ...
std::string_view customer_label(CustomerKind kind) noexcept;
struct CustomerOptions {
  std::optional<ApiFormat> format;  ///< else drawn from the kind's usual formats
  double volume_scale = 1;
};
PersonaPtr make_customer_persona(CustomerKind kind, const DataSet& data, Rng rng, const CustomerOptions& options = {});

/// An honest customer that rotates its API key on a schedule (a security
/// policy, one key per deployment): `inner`'s traffic, unchanged, sent with a
/// new key every `interval_s` (jittered ±20%), from the same network, client
/// and frame — what an extractor's rotation after a block looks like, without
/// the block. For `overlap_s` after each rotation the old key still sends
/// half of the requests (deployments switch over gradually). Label
/// "lookalike/key_rotation", class Lookalike, group `group` (its keys belong together).
struct KeyRotationOptions {
  double interval_s = 86400;
  double overlap_s = 3600;
  double start = 0, end = 0;  ///< the run's span (the rotations are drawn at construction)
  std::string group = "rotating-1";
};
PersonaPtr make_key_rotating_persona(PersonaPtr inner, Rng rng, const KeyRotationOptions& options);

/// A bring-your-own-key app: `users` independent users, each with their own
/// key, network (a /24 no other key of the app uses), user agent and daily
/// cycle, all behind the app's one system prompt and frame. Label
/// "benign/byok_app", group `app`.
struct ByokOptions {
  int users = 150;
  std::optional<ApiFormat> format;  ///< else mostly chat, some users on messages (Anthropic keys)
  double per_day_median = 6;        ///< requests per active user per active day (log-normal across users)
  std::string app = "byok-1";
  std::string kind;                 ///< "study": a homework app (GSM8K-like questions, label
                                    ///< "benign/byok_study_app"); else one of the general apps
};
PersonaPtr make_byok_app_persona(const DataSet& data, Rng rng, const ByokOptions& options);

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
  std::optional<ApiFormat> format;           ///< the endpoint and body format (default: chat, completions for some probes)
};
PersonaPtr make_distiller_persona(DistillerKind kind, const DataSet& data, Rng rng, double volume_scale,
                                  const DistillerOverrides& overrides = {});

}  // namespace dg::sim
