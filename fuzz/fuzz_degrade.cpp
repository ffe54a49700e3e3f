// libFuzzer target: the degrade rewrite. Beyond not crashing, its promise is
// checked: a rewritten body is one JSON object with no logprobs, top_logprobs
// or logit_bias member left (keys compared decoded), and n is 1.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>

#include "detectors/decision.hpp"
#include "gateway/enforce/degrade_rewrite.hpp"
#include "gateway/traffic/json_object_members.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const char* path = in.PickValueInArray({"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages",
                                          "/v1/embeddings"});
  dg::detectors::DegradeParams params;
  params.max_tokens = in.ConsumeIntegralInRange<std::int64_t>(0, 100000);
  const std::string body = in.ConsumeRemainingBytesAsString();
  const auto out = dg::gateway::degrade_body(path, body, params);
  if (!out) return 0;
  const auto members = dg::gateway::split_object_members(*out);
  if (!members) std::abort();  // the rewrite must be one object again
  for (const auto& m : *members) {
    if (m.key == "logprobs" || m.key == "top_logprobs" || m.key == "logit_bias") std::abort();
    if ((m.key == "n" || m.key == "best_of") && m.raw_value != "1") std::abort();
  }
  return 0;
}
