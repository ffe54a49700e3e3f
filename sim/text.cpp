#include "sim/text.hpp"

#include <array>

namespace dg::sim {

std::string truncate_utf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

std::string filler_prose(const DataSet& data, Rng& rng, std::size_t chars) {
  std::string out;
  out.reserve(chars + 64);
  while (out.size() < chars) {
    if (!out.empty()) out += "\n\n";
    out += truncate_utf8(rng.pick(data.sharegpt), chars - std::min(chars, out.size()) + 1);
  }
  return truncate_utf8(out, chars);
}

std::string filler_code(Rng& rng, std::size_t chars) {
  static const std::array<const char*, 8> kNouns = {"user", "order", "item", "record", "config", "cache", "request",
                                                    "token"};
  static const std::array<const char*, 6> kVerbs = {"load", "parse", "update", "validate", "render", "fetch"};
  std::string out;
  while (out.size() < chars) {
    const std::string noun = kNouns[rng.index(kNouns.size())];
    const std::string verb = kVerbs[rng.index(kVerbs.size())];
    const auto n = std::to_string(rng.between(1, 99));
    switch (rng.index(4)) {
      case 0:
        out += "def " + verb + "_" + noun + "(" + noun + ", limit=" + n + "):\n    \"\"\"" + verb + " the " + noun +
               ".\"\"\"\n    if not " + noun + ":\n        return None\n    return " + noun + "[:limit]\n\n";
        break;
      case 1:
        out += "class " + std::string(1, static_cast<char>(noun[0] - 32)) + noun.substr(1) + "Service:\n    def __init__(self, db):\n        self.db = db\n        self.retries = " + n + "\n\n";
        break;
      case 2:
        out += "    for i, " + noun + " in enumerate(" + noun + "s):\n        total += " + verb + "(" + noun +
               ") * " + n + "\n";
        break;
      default:
        out += "const " + noun + "Count = await " + verb + "(" + noun + "Id, { timeout: " + n + "00 });\n";
        break;
    }
  }
  return truncate_utf8(out, chars);
}

std::string fill_slot(std::string tmpl, std::string_view name, std::string_view value) {
  const std::string pattern = "{" + std::string(name) + "}";
  std::size_t pos = 0;
  while ((pos = tmpl.find(pattern, pos)) != std::string::npos) {
    tmpl.replace(pos, pattern.size(), value);
    pos += value.size();
  }
  return tmpl;
}

boost::json::object message(std::string_view role, std::string_view content) {
  boost::json::object m;
  m["role"] = role;
  m["content"] = content;
  return m;
}

}  // namespace dg::sim
