// distillguard: a sidecar reverse proxy that detects and throttles
// distillation-shaped traffic to an OpenAI-compatible LLM API.
#include <cstring>
#include <iostream>
#include <string_view>

#include "gateway/app/commands.hpp"

#ifndef DG_VERSION
#define DG_VERSION "dev"
#endif

namespace {

void print_usage(std::ostream& out) {
  out << "distillguard " DG_VERSION " - detects and throttles distillation traffic to an LLM API\n"
         "\n"
         "usage:\n"
         "  distillguard --config FILE            run the proxy (same as: serve --config FILE)\n"
         "  distillguard serve --config FILE      run the proxy\n"
         "  distillguard replay --config FILE [--output FILE] [--summary-json FILE] [--top N] [--quiet]\n"
         "               [--skip-bad-lines] [--max-disorder SECONDS] TRAFFIC.jsonl...\n"
         "                                       run recorded traffic through detection and policy\n"
         "  distillguard check-config FILE       validate a configuration or policy file, list every error\n"
         "  distillguard decisions list|add|lift|show|campaigns [--url URL] [--json] ...\n"
         "                                       operator decisions over the admin API\n"
         "                                       (distillguard decisions --help)\n"
         "  distillguard health [--config FILE | --port N]\n"
         "                                       exit 0 when the proxy's /healthz answers 200\n"
         "  distillguard --help | --version\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "distillguard " DG_VERSION "\n";
    return 0;
  }
  // Sub-commands see their own arguments with argv[0] = the sub-command name.
  if (first == "serve") return dg::gateway::run_proxy(argc - 1, argv + 1);
  if (first == "replay") return dg::gateway::run_replay(argc - 1, argv + 1);
  if (first == "check-config") return dg::gateway::run_check_config(argc - 1, argv + 1);
  if (first == "decisions") return dg::gateway::run_decisions(argc - 1, argv + 1);
  if (first == "health") return dg::gateway::run_health(argc - 1, argv + 1);
  if (first.starts_with("-")) return dg::gateway::run_proxy(argc, argv);
  std::cerr << "distillguard: unknown command '" << first << "'\n\n";
  print_usage(std::cerr);
  return 2;
}
