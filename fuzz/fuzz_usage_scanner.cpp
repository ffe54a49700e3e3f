// libFuzzer target: a response body through the usage scanner as the relay
// feeds it (SSE or JSON, fragments of any size, with and without an
// output-token budget). Checks the scanner's promises, not only its survival.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>

#include "gateway/http/usage_scanner.hpp"

using dg::gateway::UsageScanner;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto mode = in.PickValueInArray({UsageScanner::Mode::Sse, UsageScanner::Mode::Json, UsageScanner::Mode::Other});
  const bool with_budget = in.ConsumeBool();
  const std::uint64_t budget = in.ConsumeIntegralInRange<std::uint64_t>(0, 10000);
  UsageScanner scanner(mode, in.ConsumeIntegralInRange<std::size_t>(0, 1 << 16));
  while (in.remaining_bytes() > 0) {
    const auto piece = in.ConsumeRandomLengthString(4096);
    const auto forwarded = scanner.feed(piece, with_budget ? std::optional<std::uint64_t>(budget) : std::nullopt);
    if (forwarded > piece.size()) std::abort();  // never forwards more than it was given
    if (!with_budget && forwarded != piece.size()) std::abort();  // without a budget everything goes on
  }
  scanner.finish();
  const auto usage = scanner.usage();
  if (usage.estimated && usage.completion_reported) std::abort();
  (void)scanner.output_tokens_so_far();
  return 0;
}
