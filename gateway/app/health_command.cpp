// `distillguard health`: asks a running proxy's /healthz and exits 0 when it
// answers 200, 1 otherwise. For container health checks (Docker HEALTHCHECK,
// compose), where the image carries no HTTP client.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"
#include "gateway/app/commands.hpp"

namespace dg::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr const char* kUsage =
    "usage: distillguard health [--config FILE | --port N] [--host ADDRESS] [--timeout-ms MS]\n"
    "  GET /healthz on the proxy port (from --config's listen section, else --port, default 8080)\n"
    "  on --host (default 127.0.0.1); exit 0 when it answers 200, 1 otherwise\n";

bool parse_number(const std::string& text, unsigned long max, unsigned long& out) {
  char* end = nullptr;
  out = std::strtoul(text.c_str(), &end, 10);
  return !text.empty() && text[0] != '-' && *end == '\0' && out <= max;
}

}  // namespace

int run_health(int argc, char** argv) {
  std::string config_path, host = "127.0.0.1", port_text, timeout_text = "2000";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string* into = arg == "--config" ? &config_path : arg == "--host" ? &host : arg == "--port" ? &port_text
                      : arg == "--timeout-ms" ? &timeout_text : nullptr;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (!into || i + 1 >= argc) {
      std::cerr << "distillguard health: " << (into ? arg + " needs a value" : "unknown argument " + arg) << "\n"
                << kUsage;
      return 2;
    }
    *into = argv[++i];
  }
  unsigned long port = 8080, timeout_ms = 0;
  if (!config_path.empty()) {
    try {
      port = config::load_config(config_path).proxy.listen.port;
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 2;
    }
  }
  if (!port_text.empty() && (!parse_number(port_text, 65535, port) || port == 0)) {
    std::cerr << "distillguard health: --port needs a port in [1, 65535], got '" << port_text << "'\n";
    return 2;
  }
  if (!parse_number(timeout_text, 600000, timeout_ms) || timeout_ms == 0) {
    std::cerr << "distillguard health: --timeout-ms needs milliseconds in [1, 600000], got '" << timeout_text << "'\n";
    return 2;
  }
  // One coroutine, every step under the deadline of the stream.
  boost::asio::io_context io;
  int status = 0;
  std::string failure;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        beast::tcp_stream stream(io);
        tcp::resolver resolver(io);
        stream.expires_after(std::chrono::milliseconds(timeout_ms));
        const auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), boost::asio::use_awaitable);
        co_await stream.async_connect(endpoints, boost::asio::use_awaitable);
        http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
        req.set(http::field::host, host);
        req.set(http::field::connection, "close");
        co_await http::async_write(stream, req, boost::asio::use_awaitable);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(4096);
        co_await http::async_read(stream, buffer, parser, boost::asio::use_awaitable);
        status = static_cast<int>(parser.get().result_int());
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          failure = ex.what();
        }
      });
  io.run();
  if (status == 200) return 0;
  std::cerr << "distillguard health: " << host << ":" << port << ": "
            << (status ? "answered " + std::to_string(status) : failure) << "\n";
  return 1;
}

}  // namespace dg::gateway
