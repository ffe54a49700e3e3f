#include <iostream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "gateway/commands.hpp"
#include "gateway/proxy_server.hpp"

namespace dg::gateway {

namespace {

void configure_logging(const config::LogConfig& log) {
  spdlog::set_level(spdlog::level::from_str(log.level));
  // Diagnostics go to stderr; access lines (gateway/access_log) to stdout.
  if (log.format == "json")
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
}

}  // namespace

int run_proxy(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) path = argv[++i];
    else {
      std::cerr << "usage: distillguard --config FILE\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "usage: distillguard --config FILE\n";
    return 2;
  }
  config::Config cfg;
  try {
    cfg = config::load_config(path);
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  configure_logging(cfg.proxy.log);
  // The default stderr logger for diagnostics; access lines are created on stdout.
  // Signals are caught before the port opens, so a SIGTERM that follows the
  // first served request can never hit the default (kill) disposition.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining for up to {} ms", sig, cfg.proxy.timeouts.shutdown_grace_ms);
  });
  ProxyServer server(cfg);
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  // SIGTERM/SIGINT: stop accepting, drain in-flight exchanges within the grace period.
  signals_io.run();
  server.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dg::gateway
