#include <iostream>

#include "gateway/commands.hpp"

namespace dg::gateway {

int run_proxy(int, char**) {
  std::cerr << "distillguard: this command is not available in this build\n";
  return 1;
}

}  // namespace dg::gateway
