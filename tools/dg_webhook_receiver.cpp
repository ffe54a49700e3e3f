// dg-webhook-receiver: receives DistillGuard alert webhooks, verifies their
// HMAC signatures, and appends each one to a JSON-lines file with
// "signature_ok". For the demo, docker compose, and humans trying alerts out.
//
//   dg-webhook-receiver [--host 127.0.0.1] [--port 0] [--secret S | --secret-env VAR]
//                       [--out alerts.jsonl] [--fail-first N] [--quiet]
//                       [--tls-cert cert.pem --tls-key key.pem]   (serve https)
//
// The first line on stdout is `listening HOST:PORT` (scripts read the port).

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "tools/webhook_receiver.hpp"

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "dg-webhook-receiver: cannot read %s\n", path);
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int usage(const char* why) {
  std::fprintf(stderr,
               "dg-webhook-receiver: %s\n"
               "usage: dg-webhook-receiver [--host H] [--port P] [--secret S | --secret-env VAR]\n"
               "                           [--out FILE.jsonl] [--fail-first N] [--quiet]\n"
               "                           [--tls-cert CERT.pem --tls-key KEY.pem]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  dg::gateway::WebhookReceiverOptions opt;
  opt.quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dg-webhook-receiver: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host") opt.host = value("--host");
    else if (a == "--port") opt.port = static_cast<std::uint16_t>(std::atoi(value("--port")));
    else if (a == "--secret") opt.secret = value("--secret");
    else if (a == "--secret-env") {
      const char* var = value("--secret-env");
      const char* v = std::getenv(var);
      if (!v || !*v) return usage("the --secret-env variable is not set");
      opt.secret = v;
    } else if (a == "--out") opt.out_file = value("--out");
    else if (a == "--fail-first") opt.fail_first = std::atoi(value("--fail-first"));
    else if (a == "--quiet") opt.quiet = true;
    else if (a == "--tls-cert") opt.tls_cert_pem = read_file(value("--tls-cert"));
    else if (a == "--tls-key") opt.tls_key_pem = read_file(value("--tls-key"));
    else if (a == "--help" || a == "-h") return usage("receives and verifies DistillGuard alert webhooks"), 0;
    else return usage(("unknown argument " + std::string(a)).c_str());
  }
  if (opt.tls_cert_pem.empty() != opt.tls_key_pem.empty()) return usage("--tls-cert and --tls-key go together");
  if (opt.secret.empty()) std::fprintf(stderr, "dg-webhook-receiver: no secret given; signature_ok will be false\n");
  try {
    dg::gateway::WebhookReceiver receiver(opt);
    std::printf("listening %s:%u\n", opt.host.c_str(), static_cast<unsigned>(receiver.port()));
    std::fflush(stdout);
    boost::asio::io_context ioc;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { receiver.stop(); });
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dg-webhook-receiver: %s\n", e.what());
    return 1;
  }
  return 0;
}
