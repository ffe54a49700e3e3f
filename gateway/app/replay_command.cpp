// `distillguard replay`: recorded traffic through the same extraction and
// detection as the proxy, with each record's ts as the clock.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "config/yaml_reader.hpp"
#include "gateway/app/commands.hpp"
#include "gateway/replay/replay_runner.hpp"

namespace dg::gateway {
namespace {

constexpr const char* kUsage =
    "usage: distillguard replay --config FILE [--output FILE] [--summary-json FILE] [--skip-bad-lines]\n"
    "                           [--max-disorder SECONDS] [--top N] [--quiet] TRAFFIC.jsonl... ('-' reads standard input)\n"
    "  prints the top N keys by risk (default 50) and the totals; --quiet prints nothing but errors\n"
    "  --max-disorder: how much earlier than the latest record a record may come (default 3600;\n"
    "                  the proxy's capture log writes exchanges when they end)\n";

/// A one-line progress bar on stderr, redrawn at most ~10 times a second.
class ProgressBar {
 public:
  void operator()(std::uint64_t done, std::uint64_t total) {
    if (total == 0) return;
    const int pct = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
    if (pct == last_) return;
    last_ = pct;
    const int width = 40, filled = pct * width / 100;
    std::fprintf(stderr, "\r[%.*s%*s] %3d%% %llu MiB", filled, "########################################",
                 width - filled, "", pct, static_cast<unsigned long long>(done >> 20));
    std::fflush(stderr);
    drawn_ = true;
  }
  ~ProgressBar() {
    if (drawn_) std::fputs("\n", stderr);
  }

 private:
  int last_ = -1;
  bool drawn_ = false;
};

}  // namespace

int run_replay(int argc, char** argv) {
  std::string config_path, output_path, summary_json, max_disorder, top = "50";
  bool skip_bad_lines = false, parse_only = false, quiet = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) {
        std::cerr << "distillguard replay: " << arg << " needs a value\n" << kUsage;
        return false;
      }
      into = argv[++i];
      return true;
    };
    if (arg == "--config") {
      if (!value(config_path)) return 2;
    } else if (arg == "--output") {
      if (!value(output_path)) return 2;
    } else if (arg == "--summary-json") {
      if (!value(summary_json)) return 2;
    } else if (arg == "--max-disorder") {
      if (!value(max_disorder)) return 2;
    } else if (arg == "--top") {
      if (!value(top)) return 2;
    } else if (arg == "--quiet" || arg == "-q") {
      quiet = true;
    } else if (arg == "--skip-bad-lines") {
      skip_bad_lines = true;
    } else if (arg == "--parse-only") {
      parse_only = true;  // benchmarking: read and validate, no detection
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      std::cerr << "distillguard replay: unknown option " << arg << "\n" << kUsage;
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (config_path.empty() || files.empty()) {
    std::cerr << "distillguard replay: --config and at least one traffic file are required\n" << kUsage;
    return 2;
  }

  char* top_end = nullptr;
  const unsigned long long top_keys = std::strtoull(top.c_str(), &top_end, 10);
  if (top.empty() || *top_end != '\0' || top[0] == '-' || top_keys > 1000000) {
    std::cerr << "distillguard replay: --top needs a number of keys in [0, 1000000], got '" << top << "'\n";
    return 2;
  }
  std::ofstream output;
  if (!output_path.empty()) {
    output.open(output_path, std::ios::binary | std::ios::trunc);
    if (!output) {
      std::cerr << "distillguard replay: " << output_path << ": cannot write\n";
      return 1;
    }
  }
  std::unique_ptr<ReplayRunner> runner;
  try {
    runner = std::make_unique<ReplayRunner>(config_path, output_path.empty() ? nullptr : &output);
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "distillguard replay: " << config_path << ": " << e.what() << "\n";
    return 2;
  }

  runner->set_detection(!parse_only);
  if (!max_disorder.empty()) {
    char* end = nullptr;
    const double seconds = std::strtod(max_disorder.c_str(), &end);
    if (end == max_disorder.c_str() || *end != '\0' || !(seconds >= 0) || seconds > 1e9) {
      std::cerr << "distillguard replay: --max-disorder needs a number of seconds in [0, 1e9], got '" << max_disorder
                << "'\n";
      return 2;
    }
    runner->set_max_disorder(seconds);
  }
  bool opened = false;
  {
    ProgressBar bar;
    std::function<void(std::uint64_t, std::uint64_t)> progress;
    if (::isatty(STDERR_FILENO)) progress = std::ref(bar);
    opened = runner->replay_files(files, std::cerr, progress);
  }
  if (output.is_open()) {
    output.flush();
    if (!output) {
      std::cerr << "distillguard replay: " << output_path << ": write failed\n";
      return 1;
    }
  }
  const auto rows = runner->summaries();
  const auto& stats = runner->stats();
  if (!summary_json.empty()) {
    std::ofstream js(summary_json, std::ios::binary | std::ios::trunc);
    write_summary_json(rows, stats, runner->alert_threshold(), js, runner->detector_thresholds());
    if (!js) {
      std::cerr << "distillguard replay: " << summary_json << ": write failed\n";
      return 1;
    }
  }
  if (!quiet) write_summary_table(rows, stats, std::cout, static_cast<std::size_t>(top_keys));
  if (stats.redacted_with_features > 0)
    std::cerr << "distillguard replay: " << stats.redacted_with_features
              << " record(s) had their text redacted by the capture; replayed with the prompt features it kept\n";
  if (stats.redacted_without_features > 0)
    std::cerr << "distillguard replay: warning: " << stats.redacted_without_features
              << " record(s) had their text redacted and carry no prompt_features (a capture from an older "
                 "version): reasoning_elicitation, coverage and campaign linking are blind to them, results "
                 "differ from the live proxy's\n";
  if (!opened) return 1;
  if (stats.bad_lines > 0) {
    std::cerr << "distillguard replay: skipped " << stats.bad_lines << " bad line(s)\n";
    if (!skip_bad_lines) return 1;
  }
  return 0;
}

}  // namespace dg::gateway
