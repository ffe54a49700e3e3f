// dg-demo-upstream: the demo OpenAI-compatible upstream as a process.
// Prints "listening ADDRESS:PORT" as its first stdout line so that scripts
// can start it on port 0 and read the port back; exits on SIGTERM/SIGINT.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include <pthread.h>

#include "demo/demo_upstream.hpp"

namespace {

void print_usage(std::ostream& out) {
  out << "usage: dg-demo-upstream [--address A] [--port N] [--latency-ms X] [--token-interval-ms Y]\n"
         "                        [--completion-tokens T] [--workers N] [--record N]\n"
         "  An OpenAI-compatible demo LLM API (chat, completions, responses, embeddings,\n"
         "  Anthropic messages, models) with deterministic answers and a configurable pace.\n"
         "  Per-request headers: x-demo-latency-ms, x-demo-token-interval-ms,\n"
         "  x-demo-completion-tokens, x-demo-status. GET /demo/received lists what it got.\n";
}

bool parse_number(const char* text, long long min, long long max, long long& out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  dg::demo::DemoUpstreamOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "dg-demo-upstream: " << arg << (arg.starts_with("--") ? " needs a value\n" : ": unknown argument\n");
      print_usage(std::cerr);
      return 2;
    }
    const char* value = argv[++i];
    long long n = 0;
    bool ok = true;
    if (arg == "--address") {
      options.address = value;
    } else if (arg == "--port") {
      ok = parse_number(value, 0, 65535, n);
      options.port = static_cast<std::uint16_t>(n);
    } else if (arg == "--latency-ms") {
      ok = parse_number(value, 0, 600000, n);
      options.latency = std::chrono::milliseconds(n);
    } else if (arg == "--token-interval-ms") {
      ok = parse_number(value, 0, 60000, n);
      options.token_interval = std::chrono::milliseconds(n);
    } else if (arg == "--completion-tokens") {
      ok = parse_number(value, 0, 1000000, n);
      options.completion_tokens = n;
    } else if (arg == "--workers") {
      ok = parse_number(value, 1, 256, n);
      options.workers = static_cast<std::size_t>(n);
    } else if (arg == "--record") {
      ok = parse_number(value, 0, 1000000, n);
      options.record_capacity = static_cast<std::size_t>(n);
    } else {
      std::cerr << "dg-demo-upstream: unknown option " << arg << "\n";
      print_usage(std::cerr);
      return 2;
    }
    if (!ok) {
      std::cerr << "dg-demo-upstream: invalid value '" << value << "' for " << arg << "\n";
      return 2;
    }
  }

  // Block the stop signals in every thread (the workers inherit the mask) and
  // take them synchronously here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    dg::demo::DemoUpstream upstream(options);
    std::cout << "listening " << options.address << ":" << upstream.port() << std::endl;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << "dg-demo-upstream: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", stopping\n";
    upstream.stop();
  } catch (const std::exception& e) {
    std::cerr << "dg-demo-upstream: cannot listen on " << options.address << ":" << options.port << ": " << e.what()
              << "\n";
    return 1;
  }
  return 0;
}
