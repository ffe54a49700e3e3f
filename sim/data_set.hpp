#pragma once
/// The data the simulator draws from: the real third-party sets in
/// ../shared/data (ServeGen per-client rate traces, Azure and Mooncake token
/// sizes, the ShareGPT / Alpaca / Self-Instruct / GSM8K prompt corpora) when
/// present, else the simulator's own built-in set of the same shapes
/// (builtin_data.cpp). Loaded once, read-only afterwards.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dg::sim {

/// One 600 s window of a ServeGen client trace.
struct RateWindow {
  double start_s = 0;        ///< offset from the trace start
  double rate = 0;           ///< requests per second
  double cv = 1;             ///< coefficient of variation of inter-arrivals
  bool weibull = false;      ///< Weibull (else Gamma) inter-arrivals
};

/// One ServeGen client (≈ one API key) over 14 days.
struct ClientTrace {
  std::string name;          ///< e.g. "m-large/chunk-17"
  std::vector<RateWindow> windows;
  double mean_daily_requests = 0;
};

/// Input/output token counts of one real request.
struct TokenPair {
  std::uint32_t input = 0;
  std::uint32_t output = 0;
};

struct Gsm8kItem {
  std::string question;
  std::string answer;        ///< the worked answer ending in "#### N"
  std::string final_answer;  ///< N
};

struct Instruction {
  std::string instruction;
  std::string input;
};

/// A reasoning-model client (ServeGen reason/deepseek-r1): its rate windows
/// (one day) and token sizes drawn from its per-window input and output
/// length distributions (output includes the reasoning).
struct ReasonClient {
  ClientTrace trace;
  std::vector<TokenPair> tokens;
};

struct DataSet {
  std::vector<ClientTrace> clients;
  std::vector<TokenPair> azure_conv;
  std::vector<TokenPair> azure_code;
  std::vector<TokenPair> mooncake;
  std::vector<std::string> sharegpt;       ///< first user turns
  std::vector<Gsm8kItem> gsm8k_train;
  std::vector<Gsm8kItem> gsm8k_test;
  std::vector<Instruction> alpaca;         ///< Alpaca 5000 + Self-Instruct seed tasks
  std::vector<ReasonClient> reason_clients;  ///< reasoning-model clients (optional in a data directory)

  /// Loads everything under `dir`; throws std::runtime_error naming the
  /// missing or unreadable file.
  static std::shared_ptr<const DataSet> load(const std::string& dir);

  /// The simulator's own generated set: every scenario runs on it from a
  /// clone of the repository alone. Built once per process.
  static std::shared_ptr<const DataSet> builtin();

  /// `dir`'s real data when it holds any (then it must be complete: a
  /// partial set is an error, not a silent fallback); the built-in set when
  /// `dir` is "builtin", missing or empty of data. `source` receives a
  /// one-line description of what was loaded.
  static std::shared_ptr<const DataSet> load_or_builtin(const std::string& dir, std::string* source = nullptr);
};

}  // namespace dg::sim
