#pragma once
/// simdjson DOM parsing for the hot paths (traffic lines in replay, request
/// bodies in the proxy), accepting the same documents boost::json accepted
/// before, so that moving a parser never changes what is detected.
/// Everything else (config, output, degrade rewrite, alerts) stays on boost::json.

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dg::gateway {

/// Nesting accepted in traffic lines and request bodies: 1024 levels
/// (simdjson rejects depth >= max_depth). A body we cannot parse is "not
/// JSON" and yields no prompt features, so a limit far below what upstream
/// servers accept would let a client hide its requests from detection by
/// adding one deeply nested dummy field (boost::json's default of 32 did).
inline constexpr std::size_t kJsonMaxDepth = 1025;

/// Gives `parser` its depth limit and a first capacity (it grows with the
/// longest document). Returns simdjson's error (MEMALLOC) on failure.
simdjson::error_code prepare_json_parser(simdjson::dom::parser& parser, std::size_t capacity = 64 * 1024) noexcept;

/// Parses `text` into `parser`'s document; `out` is valid until its next
/// parse. `padded`: at least simdjson::SIMDJSON_PADDING readable bytes follow
/// the text, so simdjson reads it in place; otherwise it is copied into the
/// parser's own (reused) buffer.
///
/// An integer outside [-2^63, 2^64) or a number beyond a double's range
/// (1e400) is a NUMBER_ERROR in simdjson, while boost::json accepted the
/// document (the integer as a double, 1e400 as an infinity). Such a document
/// (rare) is read by boost::json and written again for simdjson, so it is
/// still accepted: a client cannot hide a request from extraction (turn it
/// into "not JSON") with one huge number. Integers keep boost::json's double
/// values; an infinity, which simdjson cannot hold, becomes the string
/// "Infinity" or "-Infinity" (required numeric fields reject it as before;
/// extraction reads it as absent where boost::json read an infinity).
simdjson::error_code parse_json(simdjson::dom::parser& parser, std::string_view text, bool padded,
                                simdjson::dom::element& out) noexcept;

/// `text` with every exponent whose magnitude exceeds 999,999,999 written
/// as ±999999999 (leading zeros do not count), or nullopt when there is none.
/// boost::json fails on such exponents ("exponent overflow") while Python
/// and Node upstreams read `1e9999999999` as an infinity (or 0): the clamped
/// number stays out of a double's range, so its value is unchanged.
/// Strings are skipped (with their escapes); nothing else is touched.
std::optional<std::string> clamp_extreme_exponents(std::string_view text);

/// Number of elements of `a` (simdjson's count saturates at 2^24 - 1).
std::size_t array_size(simdjson::dom::array a) noexcept;

/// The value of an element whose type the caller checked (get() cannot fail then).
template <class T>
T json_as(simdjson::dom::element e) noexcept {
  T v{};
  if (e.get(v) != simdjson::SUCCESS) return T{};  // (void) does not silence warn_unused_result in GCC
  return v;
}

/// The fields of an object that the caller asks for, found in one pass (a
/// simdjson lookup is a linear scan too). Of duplicate keys the last one
/// counts, as boost::json kept the last: extraction must not change with the
/// parser.
/// Key equality without a library call per compare: keys are a few bytes,
/// and most differ in length or first byte.
inline bool same_key(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

template <std::size_t N>
class JsonFields {
 public:
  JsonFields(simdjson::dom::object o, const std::array<std::string_view, N>& names) noexcept {
    for (const auto kv : o) {
      for (std::size_t i = 0; i < N; ++i) {
        if (same_key(kv.key, names[i])) {
          values_[i] = kv.value;
          found_[i] = true;
          break;
        }
      }
    }
  }
  /// The value of names[i], or nullptr when the object has no such key.
  const simdjson::dom::element* operator[](std::size_t i) const noexcept { return found_[i] ? &values_[i] : nullptr; }

 private:
  std::array<simdjson::dom::element, N> values_{};
  std::array<bool, N> found_{};
};

}  // namespace dg::gateway
