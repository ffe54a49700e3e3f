#include <iostream>
#include <string>

#include "config/config.hpp"
#include "gateway/app/app.hpp"
#include "gateway/app/commands.hpp"

namespace dg::gateway {

int run_check_config(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) path = argv[++i];
    else if (!arg.starts_with("-") && path.empty()) path = arg;
    else {
      std::cerr << "usage: distillguard check-config FILE\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "usage: distillguard check-config FILE\n";
    return 2;
  }
  try {
    validate_config(config::load_config(path));
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  std::cout << "ok\n";
  return 0;
}

}  // namespace dg::gateway
