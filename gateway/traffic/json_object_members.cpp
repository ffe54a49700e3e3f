#include "gateway/traffic/json_object_members.hpp"

namespace dg::gateway {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void skip_space(std::string_view text, std::size_t& i) noexcept {
  while (i < text.size() && is_space(text[i])) ++i;
}

/// Advances `i` past the string literal starting at text[i] == '"'.
bool skip_string(std::string_view text, std::size_t& i) noexcept {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') ++i;
    else if (text[i] == '"') {
      ++i;
      return true;
    }
  }
  return false;
}

/// Advances `i` past one value: a string, a bracketed value (brackets matched
/// outside strings, with an explicit stack: no recursion, no depth limit), or
/// a run of other characters up to a delimiter (numbers, true/false/null and
/// the NaN/Infinity some upstreams accept).
bool skip_value(std::string_view text, std::size_t& i) {
  if (i >= text.size()) return false;
  const char c = text[i];
  if (c == '"') return skip_string(text, i);
  if (c == '{' || c == '[') {
    std::string closers;
    while (i < text.size()) {
      const char d = text[i];
      if (d == '"') {
        if (!skip_string(text, i)) return false;
        continue;
      }
      if (d == '{') closers.push_back('}');
      else if (d == '[') closers.push_back(']');
      else if (d == '}' || d == ']') {
        if (closers.empty() || closers.back() != d) return false;
        closers.pop_back();
        if (closers.empty()) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  if (c == ',' || c == '}' || c == ']' || c == ':') return false;
  const std::size_t start = i;
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' && !is_space(text[i])) {
    if (text[i] == '"' || text[i] == '{' || text[i] == '[' || text[i] == ':') return false;
    ++i;
  }
  return i > start;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::optional<char32_t> hex4(std::string_view s, std::size_t at) noexcept {
  if (at + 4 > s.size()) return std::nullopt;
  char32_t v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const char h = s[k];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= static_cast<char32_t>(h - '0');
    else if (h >= 'a' && h <= 'f') v |= static_cast<char32_t>(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= static_cast<char32_t>(h - 'A' + 10);
    else return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<std::string> decode_json_string(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return std::nullopt;
  std::string out;
  out.reserve(q.size() - 2);
  for (std::size_t i = 1; i + 1 < q.size(); ++i) {
    const char c = q[i];
    if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    if (c == '"') return std::nullopt;  // an unescaped quote inside: not one literal
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i + 1 > q.size() - 1) return std::nullopt;
    switch (q[i]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto cp = hex4(q, i + 1);
        if (!cp) return std::nullopt;
        i += 4;
        // A high surrogate followed by \uDC00-\uDFFF is one code point; a
        // lone surrogate becomes U+FFFD, as Python's json writes it back.
        if (*cp >= 0xD800 && *cp <= 0xDBFF && i + 7 < q.size() && q[i + 1] == '\\' && q[i + 2] == 'u') {
          if (auto lo = hex4(q, i + 3); lo && *lo >= 0xDC00 && *lo <= 0xDFFF) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
            i += 6;
          }
        }
        if (*cp >= 0xD800 && *cp <= 0xDFFF) *cp = 0xFFFD;
        append_utf8(out, *cp);
        break;
      }
      default: return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<JsonMember>> split_object_members(std::string_view text) {
  std::size_t i = 0;
  skip_space(text, i);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  std::vector<JsonMember> members;
  skip_space(text, i);
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    for (;;) {
      skip_space(text, i);
      if (i >= text.size() || text[i] != '"') return std::nullopt;
      const std::size_t key_start = i;
      if (!skip_string(text, i)) return std::nullopt;
      JsonMember m;
      m.raw_key = text.substr(key_start, i - key_start);
      auto key = decode_json_string(m.raw_key);
      if (!key) return std::nullopt;
      m.key = std::move(*key);
      skip_space(text, i);
      if (i >= text.size() || text[i] != ':') return std::nullopt;
      ++i;
      skip_space(text, i);
      const std::size_t value_start = i;
      if (!skip_value(text, i)) return std::nullopt;
      m.raw_value = text.substr(value_start, i - value_start);
      members.push_back(std::move(m));
      skip_space(text, i);
      if (i >= text.size()) return std::nullopt;
      if (text[i] == '}') {
        ++i;
        break;
      }
      if (text[i] != ',') return std::nullopt;
      ++i;
    }
  }
  skip_space(text, i);
  if (i != text.size()) return std::nullopt;
  return members;
}

}  // namespace dg::gateway
