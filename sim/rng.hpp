#pragma once
/// A small seeded random generator with its own distributions, so that the
/// same seed gives byte-identical traffic on every standard library (the
/// std:: distributions are implementation-defined).

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dg::sim {

/// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix(seed);
  }

  /// A child generator for an independent stream (e.g. one per key).
  Rng fork(std::uint64_t stream) const {
    std::uint64_t mix = s_[0] ^ (stream * 0x9E3779B97F4A7C15ULL) ^ 0xD1B54A32D192ED03ULL;
    return Rng(splitmix(mix) ^ s_[3]);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (inclusive).
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }
  std::size_t index(std::size_t size) { return size == 0 ? 0 : static_cast<std::size_t>(next() % size); }
  bool chance(double p) { return uniform() < p; }

  double normal() {
    // Box-Muller; one value per call keeps the stream simple.
    double u1 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  double exponential(double mean) {
    double u = uniform();
    if (u < 1e-300) u = 1e-300;
    return -mean * std::log(u);
  }

  /// Gamma(shape k, scale theta), Marsaglia-Tsang (boosted for k < 1).
  double gamma(double k, double theta) {
    if (k <= 0 || theta <= 0) return 0;
    if (k < 1) {
      double u = uniform();
      if (u < 1e-300) u = 1e-300;
      return gamma(k + 1, theta) * std::pow(u, 1.0 / k);
    }
    const double d = k - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = normal();
      double v = 1.0 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const double u = uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * theta;
      if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v * theta;
    }
  }

  /// Weibull(shape k, scale lambda).
  double weibull(double k, double lambda) {
    double u = uniform();
    if (u < 1e-300) u = 1e-300;
    return lambda * std::pow(-std::log(u), 1.0 / k);
  }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[index(v.size())];
  }

  /// Index drawn with the given (unnormalised) weights.
  std::size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double r = uniform() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.empty() ? 0 : weights.size() - 1;
  }

  static std::uint64_t hash(std::string_view s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
    return h;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  std::uint64_t s_[4]{};
};

}  // namespace dg::sim
