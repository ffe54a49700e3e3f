// An honest customer rotating its API key on a schedule: another persona's
// traffic under a succession of keys (sim/personas.hpp).
#include <algorithm>
#include <utility>
#include <vector>

#include "sim/personas.hpp"

namespace dg::sim {
namespace {

class KeyRotatingPersona final : public Persona {
 public:
  KeyRotatingPersona(PersonaPtr inner, Rng rng, KeyRotationOptions o) : inner_(std::move(inner)), rng_(rng), o_(std::move(o)) {
    const auto inner_labels = inner_->labels();
    if (!inner_labels.empty()) {
      first_key_ = inner_labels.front().first;
      base_ = inner_labels.front().second;
    }
    keys_.push_back(first_key_);
    const double interval = std::max(600.0, o_.interval_s);
    for (double t = o_.start + interval * rng_.uniform(0.8, 1.2); t < o_.end; t += interval * rng_.uniform(0.8, 1.2)) {
      rotations_.push_back(t);
      keys_.push_back(make_api_key(rng_));
    }
  }

  std::vector<std::pair<std::string, KeyLabel>> labels() const override {
    KeyLabel label = base_;
    label.cls = KeyClass::Lookalike;
    label.persona = "lookalike/key_rotation";
    label.group = o_.group;
    std::vector<std::pair<std::string, KeyLabel>> out;
    for (const auto& k : keys_) out.emplace_back(k, label);
    return out;
  }

  std::vector<double> schedule(const SimContext& ctx) override { return inner_->schedule(ctx); }

  SimRecord render(double ts, const SimContext& ctx) override {
    SimRecord r = inner_->render(ts, ctx);
    // The key in force at ts: the last rotation at or before it; within the
    // overlap after a rotation, the old key still sends half of the traffic.
    auto k = static_cast<std::size_t>(std::upper_bound(rotations_.begin(), rotations_.end(), ts) - rotations_.begin());
    if (k > 0 && ts - rotations_[k - 1] < o_.overlap_s && rng_.chance(0.5)) --k;
    if (r.key == first_key_) r.key = keys_[k];
    return r;
  }

 private:
  PersonaPtr inner_;
  Rng rng_;
  KeyRotationOptions o_;
  std::string first_key_;
  KeyLabel base_;
  std::vector<double> rotations_;     ///< when key i + 1 takes over
  std::vector<std::string> keys_;     ///< keys_[0] is the inner persona's own
};

}  // namespace

PersonaPtr make_key_rotating_persona(PersonaPtr inner, Rng rng, const KeyRotationOptions& options) {
  return std::make_unique<KeyRotatingPersona>(std::move(inner), rng, options);
}

}  // namespace dg::sim
