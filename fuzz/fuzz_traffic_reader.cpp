// libFuzzer target: a traffic file through the reader and the replay runner
// (extraction, prompt analysis, every detector, the campaign linker), as
// `distillguard replay` runs it. The runner is shared by all inputs, as one
// long replay would be (its state is bounded by the key caps).
#include <cstdio>
#include <string>

#include "gateway/replay/replay_runner.hpp"
#include "gateway/traffic/traffic_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dg::gateway::ReplayRunner runner("", nullptr);
  // A small read chunk: lines longer than it take the buffer-growing path.
  // One reader for all inputs (as replay reads file after file); each input
  // is a stream of its own, read from memory.
  static dg::gateway::TrafficReader reader(256);
  if (size == 0) return 0;
  std::FILE* stream = ::fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
  if (!stream) return 0;
  reader.open(stream, "fuzz.jsonl");
  reader.set_last_ts(-1e300);
  reader.set_max_disorder(60);
  dg::gateway::TrafficRecord record;
  for (;;) {
    const auto result = reader.next(record);
    if (result == dg::gateway::TrafficReader::Result::End) break;
    if (result == dg::gateway::TrafficReader::Result::Record) runner.observe(record);
  }
  std::fclose(stream);
  return 0;
}
