#pragma once
/// The normalisation rules of detectors/text_normalize.hpp written one byte at
/// a time, slowly and plainly: what the block-at-a-time code must equal.
#include <algorithm>
#include <string>
#include <string_view>

namespace dg::test {

inline std::string normalize_reference(std::string_view in, bool keep_lines) {
  std::string out;
  int pending = 0;  // 0 none, 1 space, 2 newline, 3 blank line
  auto flush = [&] {
    if (pending && !out.empty()) out += pending == 1 ? " " : pending == 2 ? "\n" : "\n\n";
    pending = 0;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    const auto next = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      pending = std::max(pending, 1);
    } else if (c == '\n') {
      pending = !keep_lines ? std::max(pending, 1) : (pending >= 2 ? 3 : 2);
    } else if (c == 0xC2 && next == 0xA0) {
      pending = std::max(pending, 1);
      ++i;
    } else if (c == 0xE3 && next == 0x80 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 2]) == 0x80) {
      pending = std::max(pending, 1);
      i += 2;
    } else {
      flush();
      if (c == 0xC3 && next >= 0x80 && next <= 0x9E && next != 0x97) {
        out += {static_cast<char>(c), static_cast<char>(next + 0x20)};
        ++i;
      } else if (c == 0xD0 && next >= 0x90 && next <= 0x9F) {
        out += {static_cast<char>(0xD0), static_cast<char>(next + 0x20)};
        ++i;
      } else if (c == 0xD0 && next >= 0xA0 && next <= 0xAF) {
        out += {static_cast<char>(0xD1), static_cast<char>(next - 0x20)};
        ++i;
      } else if (c == 0xD0 && next >= 0x80 && next <= 0x8F) {
        out += {static_cast<char>(0xD1), static_cast<char>(next + 0x10)};
        ++i;
      } else {
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c));
      }
    }
  }
  return out;
}

}  // namespace dg::test
