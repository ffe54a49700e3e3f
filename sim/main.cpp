// dg-simulate: writes labelled simulated LLM API traffic (traffic-format.md)
// built from the real traces and prompt corpora in ../shared/data, or from
// the simulator's built-in data set when they are not there.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "sim/data_set.hpp"
#include "sim/scenario.hpp"

namespace {

constexpr const char* kUsage =
    "usage: dg-simulate [--scenario NAME] [--seed N] [--days D | --duration SECONDS] [--benign N]\n"
    "                   [--lookalikes N] [--distillers N] [--start UNIX_TS] [--volume-scale X]\n"
    "                   [--set NAME=VALUE]... [--data-dir DIR] --out TRAFFIC.jsonl --labels LABELS.json\n"
    "       dg-simulate --list-scenarios\n";

/// --data-dir default: $DG_SHARED_DATA_DIR, else ../shared/data next to the
/// repository this binary was built from; a directory without data (or
/// `--data-dir builtin`) means the built-in data set.
std::string default_data_dir() {
  if (const char* env = std::getenv("DG_SHARED_DATA_DIR"); env && *env) return env;  // empty: unset, as the tests read it
#ifdef DG_DEFAULT_DATA_DIR
  return DG_DEFAULT_DATA_DIR;
#else
  return "../shared/data";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using dg::sim::ScenarioOptions;
  std::string scenario = "population", out, labels, data_dir = default_data_dir();
  // The scenario's defaults apply first; the command line overrides them.
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--scenario") scenario = argv[i + 1];
  const auto* entry = dg::sim::find_scenario(scenario);
  if (!entry) {
    std::cerr << "dg-simulate: unknown scenario '" << scenario << "' (--list-scenarios shows them)\n";
    return 2;
  }
  ScenarioOptions opts;
  if (entry->defaults) entry->defaults(opts);
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (arg == "--list-scenarios") {
        for (const auto& s : dg::sim::scenarios()) std::cout << s.name << "\t" << s.description << "\n";
        return 0;
      } else if (arg == "--scenario") value();
      else if (arg == "--seed") opts.seed = std::stoull(value());
      else if (arg == "--days") {
        opts.days = std::stod(value());
        opts.duration_s.reset();
      } else if (arg == "--duration") opts.duration_s = std::stod(value());
      else if (arg == "--benign") opts.benign = std::stoi(value());
      else if (arg == "--lookalikes") opts.lookalikes = std::stoi(value());
      else if (arg == "--distillers") opts.distillers = std::stoi(value());
      else if (arg == "--start") opts.start = std::stod(value());
      else if (arg == "--volume-scale") opts.volume_scale = std::stod(value());
      else if (arg == "--set") {
        const std::string kv = value();
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--set needs NAME=VALUE");
        opts.extra[kv.substr(0, eq)] = kv.substr(eq + 1);
      } else if (arg == "--data-dir") data_dir = value();
      else if (arg == "--out") out = value();
      else if (arg == "--labels") labels = value();
      else throw std::invalid_argument("unknown option " + arg);
    }
  } catch (const std::exception& e) {
    std::cerr << "dg-simulate: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (out.empty() || labels.empty()) {
    std::cerr << "dg-simulate: --out and --labels are required\n" << kUsage;
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    std::string source;
    const auto data = dg::sim::DataSet::load_or_builtin(data_dir, &source);
    std::cerr << "dg-simulate: " << source << "\n";
    std::ofstream traffic(out, std::ios::binary), label_file(labels, std::ios::binary);
    if (!traffic) throw std::runtime_error(out + ": cannot write");
    if (!label_file) throw std::runtime_error(labels + ": cannot write");
    const auto stats = dg::sim::generate_scenario(scenario, opts, *data, traffic, label_file);
    traffic.flush();
    label_file.flush();
    if (!traffic || !label_file) throw std::runtime_error("write failed");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << "dg-simulate: " << scenario << " seed " << opts.seed << ": " << stats.records << " records, "
              << stats.keys << " keys, " << stats.bytes / (1024 * 1024) << " MiB in " << secs << " s (";
    bool first = true;
    for (const auto& [cls, n] : stats.records_by_class) {
      std::cerr << (first ? "" : ", ") << cls << " " << n;
      first = false;
    }
    std::cerr << ")\n";
  } catch (const std::exception& e) {
    std::cerr << "dg-simulate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
