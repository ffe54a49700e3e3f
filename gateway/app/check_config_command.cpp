#include <iostream>
#include <string>

#include "gateway/app/commands.hpp"
#include "gateway/app/config_check.hpp"

namespace dg::gateway {

int run_check_config(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) path = argv[++i];
    else if (!arg.starts_with("-") && path.empty()) path = arg;
    else {
      std::cerr << "usage: distillguard check-config FILE   (a main config or a policy file)\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "usage: distillguard check-config FILE   (a main config or a policy file)\n";
    return 2;
  }
  // Every error of the file (and of the policy file it names), one a line.
  const auto check = check_config_file(path);
  for (const auto& e : check.errors) std::cerr << e.text() << "\n";
  if (!check.errors.empty()) return 2;
  std::cout << "ok\n";
  return 0;
}

}  // namespace dg::gateway
