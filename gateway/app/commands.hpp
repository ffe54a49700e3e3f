#pragma once
/// Entry points of the `distillguard` sub-commands; gateway/main.cpp only
/// dispatches to these. Each returns the process exit status
/// (0 ok, 1 runtime failure, 2 bad usage or invalid configuration).

namespace dg::gateway {

/// `distillguard --config FILE` / `distillguard serve --config FILE`: run the proxy.
int run_proxy(int argc, char** argv);

/// `distillguard replay --config FILE [--output FILE] [--summary-json FILE] TRAFFIC.jsonl...`
int run_replay(int argc, char** argv);

/// `distillguard check-config FILE`: validate a config/policy file without starting.
int run_check_config(int argc, char** argv);

/// `distillguard decisions list|add|lift|show|campaigns ...`: the admin API from the
/// command line (decisions_command.cpp prints the full usage).
int run_decisions(int argc, char** argv);
/// `distillguard health [--config FILE | --port N]`: GET /healthz of a running proxy (container health checks).
int run_health(int argc, char** argv);

}  // namespace dg::gateway
