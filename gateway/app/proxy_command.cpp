#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "gateway/app/commands.hpp"
#include "gateway/app/app.hpp"
#include "gateway/observability/log_format.hpp"
#include "gateway/app/config_check.hpp"
#include "gateway/app/heap_trim.hpp"
#include "gateway/app/log_files.hpp"

namespace dg::gateway {

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void configure_logging(const config::LogConfig& log) {
  spdlog::set_level(spdlog::level::from_str(log.level));
  // Diagnostics go to stderr; access lines (gateway/access_log) to stdout.
  // JSON: the same numeric `ts` as access lines, the message escaped.
  if (log.format == "json") spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
}

}  // namespace

int run_proxy(int argc, char** argv) {
  // Before any thread or socket exists: a write to a peer that is gone must
  // fail with EPIPE, not end the process. Asio sends with MSG_NOSIGNAL, but
  // hiredis (fleet mode's Redis client) writes with write(2), and a Redis
  // killed mid-write would otherwise raise SIGPIPE here.
  std::signal(SIGPIPE, SIG_IGN);
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
  // Every error of every section at once (what check-config prints), before
  // anything starts; the loaders below then stop at the first.
  if (const auto check = check_config_file(path); !check.errors.empty() && !check.policy_file) {
    for (const auto& e : check.errors) std::cerr << e.text() << "\n";
    return 2;
  }
  config::Config cfg;
  try {
    cfg = config::load_config(path);
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  // log.file / log.access_file: registered before the proxy creates its
  // access logger and before the level and pattern are set for all loggers.
  std::unique_ptr<LogFiles> log_files;
  try {
    log_files = LogFiles::install(cfg.proxy.log);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  configure_logging(cfg.proxy.log);
  configure_allocator();
  // The default stderr logger for diagnostics; access lines are created on stdout.
  // Signals are caught before the port opens, so a SIGTERM that follows the
  // first served request can never hit the default (kill) disposition.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  // SIGUSR1 (nginx/HAProxy convention): reopen every log file by its path
  // after an external rotation; handled until SIGTERM.
  boost::asio::signal_set reopen_signal(signals_io, SIGUSR1);
  std::unique_ptr<App> app;
  std::function<void()> wait_reopen = [&] {
    reopen_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (log_files) log_files->reopen();
      if (app) app->reopen_logs();
      spdlog::info("SIGUSR1: log files reopened");
      wait_reopen();
    });
  };
  wait_reopen();
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining for up to {} ms", sig, cfg.proxy.timeouts.shutdown_grace_ms);
    boost::system::error_code ignored;
    reopen_signal.cancel(ignored);
  });
  try {
    app = App::create(cfg, wall_now());
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  try {
    app->start();  // logs "distillguard listening on HOST:PORT ..." and "admin API listening on ..."
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  // SIGTERM/SIGINT: stop accepting, drain in-flight exchanges within the grace
  // period, then stop the linker, enforcement and alert delivery (flushed).
  signals_io.run();
  app->stop();
  spdlog::info("stopped");
  app.reset();
  log_files.reset();  // drains the log files' queue
  return 0;
}

}  // namespace dg::gateway
