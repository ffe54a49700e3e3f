#include "detectors/decision.hpp"

#include <array>

namespace dg::detectors {

namespace {
constexpr std::array<std::string_view, 5> kActionNames{"allow", "shadow", "throttle", "degrade", "block"};
constexpr std::array<std::string_view, 2> kOriginNames{"detector", "operator"};
}  // namespace

std::string_view to_string(Action action) noexcept { return kActionNames[static_cast<std::size_t>(action)]; }

std::optional<Action> action_from_string(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kActionNames.size(); ++i)
    if (kActionNames[i] == text) return static_cast<Action>(i);
  return std::nullopt;
}

std::string_view to_string(Origin origin) noexcept { return kOriginNames[static_cast<std::size_t>(origin)]; }

std::optional<Origin> origin_from_string(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kOriginNames.size(); ++i)
    if (kOriginNames[i] == text) return static_cast<Origin>(i);
  return std::nullopt;
}

}  // namespace dg::detectors
