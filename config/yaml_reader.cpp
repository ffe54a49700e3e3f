#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace dg::config {

namespace {

std::string join(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.text();
  }
  return out;
}

/// Reads back the position of a message formatted by located().
Diagnostic parse_located(const std::string& text) {
  Diagnostic d;
  d.message = text;
  // `file:LINE:COL: message`: the first ":digits:digits: " run.
  for (std::size_t i = text.find(':'); i != std::string::npos; i = text.find(':', i + 1)) {
    std::size_t j = i + 1;
    int line = 0, col = 0;
    auto digits = [&](int& v) {
      const std::size_t start = j;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) && j - start < 9)
        v = v * 10 + (text[j++] - '0');
      return j > start;
    };
    if (!digits(line) || j >= text.size() || text[j] != ':') continue;
    ++j;
    if (!digits(col) || text.compare(j, 2, ": ") != 0) continue;
    d.file = text.substr(0, i);
    d.line = line;
    d.column = col;
    d.message = text.substr(j + 2);
    return d;
  }
  if (auto sep = text.find(": "); sep != std::string::npos) {
    d.file = text.substr(0, sep);
    d.message = text.substr(sep + 2);
  }
  return d;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Optimal string alignment distance (Levenshtein plus adjacent transposition).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string trim_trailing_space(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

/// Duplicate keys of every mapping under `node`. yaml-cpp keeps both pairs
/// (lookups see the first), so a second `upstream:` would be silently
/// ignored. Aliased collections are walked once (their nodes are shared).
void find_duplicates(const YAML::Node& node, const std::string& file, const std::string& path,
                     std::set<std::tuple<int, int, int>>& seen, std::size_t& budget, std::vector<Diagnostic>& out) {
  if (!node.IsMap() && !node.IsSequence()) return;
  const auto mark = node.Mark();
  if (!seen.emplace(mark.line, mark.column, static_cast<int>(node.Type())).second) return;
  if (budget == 0) return;
  --budget;
  if (node.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : node) find_duplicates(item, file, path + "[" + std::to_string(i++) + "]", seen, budget, out);
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& kv : node) {
    if (kv.first.IsScalar()) {
      const auto& key = kv.first.Scalar();
      const std::string name = path.empty() ? key : path + "." + key;
      auto [it, inserted] = first_line.emplace(key, kv.first.Mark().line + 1);
      if (!inserted)
        out.push_back(diagnostic_at(file, kv.first,
                                    "duplicate key '" + name + "' (first at line " + std::to_string(it->second) + ")"));
      find_duplicates(kv.second, file, name, seen, budget, out);
    }
  }
}

}  // namespace

std::string Diagnostic::text() const {
  std::string out = file;
  if (line > 0) out += ':' + std::to_string(line) + ':' + std::to_string(column);
  return out + ": " + message;
}

ConfigError::ConfigError(const std::string& message) : std::runtime_error(message), errors_{parse_located(message)} {}

ConfigError::ConfigError(std::vector<Diagnostic> errors) : std::runtime_error(join(errors)), errors_(std::move(errors)) {}

std::vector<Diagnostic> sorted_diagnostics(const std::vector<Diagnostic>& errors) {
  std::map<std::string, std::size_t, std::less<>> file_order;
  for (const auto& e : errors) file_order.emplace(e.file, file_order.size());
  std::vector<Diagnostic> out = errors;
  std::stable_sort(out.begin(), out.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(file_order[a.file], a.line, a.column) < std::tuple(file_order[b.file], b.line, b.column);
  });
  std::vector<Diagnostic> unique;
  for (auto& e : out) {
    // Same position and reason: one error seen twice (a throw carries every
    // earlier error, and recover() records them again).
    bool repeat = false;
    for (auto it = unique.rbegin(); it != unique.rend() && it->file == e.file && it->line == e.line && it->column == e.column;
         ++it)
      repeat |= it->message == e.message;
    if (!repeat) unique.push_back(std::move(e));
  }
  return unique;
}

Diagnostic diagnostic_at(const std::string& file, const YAML::Node& node, std::string_view message) {
  Diagnostic d;
  d.file = file;
  d.message = std::string(message);
  // yaml-cpp marks are 0-based and -1 for nodes built in memory.
  const auto mark = node.Mark();
  if (mark.line >= 0) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  return d;
}

std::string located(const std::string& file, const YAML::Node& node, std::string_view message) {
  return diagnostic_at(file, node, message).text();
}

constexpr std::size_t kMaxSuggestedWord = 64;

std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string w = lower(word);
  // Keys are short; a long unknown word gets no suggestion (and no
  // quadratic edit distance).
  if (w.empty() || w.size() > kMaxSuggestedWord) return std::nullopt;
  const std::size_t limit = std::max<std::size_t>(1, w.size() / 3);
  std::optional<std::string> best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const std::string l = lower(c);
    if (l == w && c != word) return c;  // a case slip
    if (l == w) continue;
    const std::size_t shorter = std::min(w.size(), l.size());
    const std::size_t gap = std::max(w.size(), l.size()) - shorter;
    const bool prefix = shorter >= 4 && (l.starts_with(w) || w.starts_with(l));
    // The edit distance is at least the length gap (exactly it for a prefix).
    if (!prefix && gap > limit) continue;
    const std::size_t d = prefix ? gap : edit_distance(w, l);
    // A one-letter word "close" to every one-letter key is no suggestion.
    const bool typo = d <= limit && d < w.size() && d < l.size();
    if ((typo || prefix) && d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto m = closest_match(word, candidates);
  return m ? " (did you mean '" + *m + "'?)" : std::string();
}

YAML::Node load_yaml_text(const std::string& text, const std::string& file, std::vector<Diagnostic>* duplicates) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file << ':' << (e.mark.line + 1) << ':' << (e.mark.column + 1) << ": " << e.msg;
    throw ConfigError(out.str());
  }
  std::vector<Diagnostic> found;
  std::set<std::tuple<int, int, int>> seen;
  std::size_t budget = 1'000'000;
  find_duplicates(root, file, "", seen, budget, found);
  if (!found.empty()) {
    if (!duplicates) throw ConfigError(sorted_diagnostics(found));
    duplicates->insert(duplicates->end(), found.begin(), found.end());
  }
  return root;
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open file");
  // Read in pieces up to one byte past the limit: the size a file reports is
  // not to be trusted (devices, pipes and /proc report 0), and the policy
  // poller reads a few-kB file every interval.
  std::string text;
  char piece[16 * 1024];
  while (text.size() <= kMaxConfigFileBytes && in.read(piece, sizeof piece).gcount() > 0)
    text.append(piece, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw ConfigError(path + ": read error");
  if (text.size() > kMaxConfigFileBytes)
    throw ConfigError(path + ": larger than " + std::to_string(kMaxConfigFileBytes) +
                      " bytes, the limit of a configuration file");
  return text;
}

YAML::Node load_yaml_file(const std::string& path, std::vector<Diagnostic>* duplicates) {
  auto root = load_yaml_text(read_config_file(path), path, duplicates);
  // An editor that truncates before it writes, or a config map mounted
  // empty, must not start a proxy with every default.
  if (!root.IsDefined() || root.IsNull()) throw ConfigError(path + ":1:1: the file is empty (no settings)");
  if (!root.IsMap()) throw ConfigError(located(path, root, "the top level must be a mapping"));
  return root;
}

YamlSection::YamlSection(YAML::Node node, std::string file, std::string path)
    : YamlSection(std::move(node), std::move(file), std::move(path), std::make_shared<std::vector<Diagnostic>>()) {
  root_ = true;
}

YamlSection::YamlSection(YAML::Node node, std::string file, std::string path,
                         std::shared_ptr<std::vector<Diagnostic>> errors)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), errors_(std::move(errors)), root_(false) {
  if (node_.IsNull()) node_ = YAML::Node(YAML::NodeType::Map);
  if (!node_.IsMap()) fail(node_, (path_.empty() ? std::string("document") : "'" + path_ + "'") + " must be a mapping");
}

bool YamlSection::has(std::string_view key) const {
  asked_.emplace(key);
  return key_node(key).has_value();
}

std::optional<YAML::Node> YamlSection::key_node(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.Scalar() == key) return kv.first;
  return std::nullopt;
}

YAML::Node YamlSection::value_or_self(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.Scalar() == key) return kv.second;
  return node_;
}

std::string YamlSection::qualified(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::optional<YAML::Node> YamlSection::take(std::string_view key) {
  asked_.emplace(key);
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) {
      consumed_.emplace(key);
      if (kv.second.IsNull()) return std::nullopt;
      return kv.second;
    }
  }
  return std::nullopt;
}

std::optional<YamlSection> YamlSection::child(std::string_view key) {
  auto n = take(key);
  if (!n) return std::nullopt;
  if (!n->IsMap()) fail(*n, "'" + qualified(key) + "' must be a mapping");
  return YamlSection(*n, file_, qualified(key), errors_);
}

std::vector<YamlSection> YamlSection::list_of_sections(std::string_view key) {
  std::vector<YamlSection> out;
  auto n = take(key);
  if (!n) return out;
  if (!n->IsSequence()) fail(*n, "'" + qualified(key) + "' must be a list");
  std::size_t i = 0;
  for (const auto& item : *n) {
    if (!item.IsMap()) fail(item, "'" + qualified(key) + "' entries must be mappings");
    out.push_back(YamlSection(item, file_, qualified(key) + "[" + std::to_string(i++) + "]", errors_));
  }
  return out;
}

std::optional<std::string> YamlSection::secret(std::string_view key) {
  const std::string inline_key(key), env_key = inline_key + "_env", file_key = inline_key + "_file";
  const bool has_inline = has(inline_key), has_env = has(env_key), has_file = has(file_key);
  if (has_inline + has_env + has_file > 1) {
    const auto second = has_inline ? *key_node(has_env ? env_key : file_key) : *key_node(file_key);
    fail(second, "give only one of '" + qualified(inline_key) + "', '" + qualified(env_key) + "' and '" +
                     qualified(file_key) + "'");
  }
  if (has_inline) {
    auto n = take(inline_key);
    if (!n) return std::nullopt;
    if (auto v = convert<std::string>(*n, inline_key)) return *v;
    throw_recorded();
  }
  if (has_env) {
    const auto var = require<std::string>(env_key);
    const char* value = std::getenv(var.c_str());
    const std::string trimmed = value ? trim_trailing_space(value) : std::string();
    if (trimmed.empty())
      fail(*take(env_key), "environment variable '" + var + "' (from '" + qualified(env_key) + "') is not set or empty");
    return trimmed;
  }
  if (has_file) {
    const auto path = require<std::string>(file_key);
    const auto at = *take(file_key);
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
      fail(at, "cannot read '" + path + "' (from '" + qualified(file_key) + "'): " +
                   (errno ? std::strerror(errno) : "cannot open"));
    std::string text;
    char buf[4096];
    std::size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < (1u << 20)) text.append(buf, got);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) fail(at, "cannot read '" + path + "' (from '" + qualified(file_key) + "')");
    text = trim_trailing_space(std::move(text));
    if (text.empty()) fail(at, "file '" + path + "' (from '" + qualified(file_key) + "') is empty");
    return text;
  }
  return std::nullopt;
}

void YamlSection::finish() const {
  std::vector<std::string> known(asked_.begin(), asked_.end());
  for (const auto& kv : node_) {
    const auto& name = kv.first.Scalar();
    if (!consumed_.contains(name)) error(kv.first, "unknown key '" + qualified(name) + "'" + did_you_mean(name, known));
  }
  if (root_ && !errors_->empty()) throw_recorded();
}

void YamlSection::close() const {
  finish();
  if (!errors_->empty()) throw_recorded();
}

void YamlSection::error(const YAML::Node& at, std::string_view message) const {
  errors_->push_back(diagnostic_at(file_, at, message));
}

void YamlSection::fail(const YAML::Node& at, std::string_view message) const {
  error(at, message);
  throw_recorded();
}

void YamlSection::fail_missing(std::string_view key, std::string_view message) const {
  std::vector<std::string> wanted{std::string(key)};
  for (const auto& kv : node_) {
    const auto& name = kv.first.Scalar();
    if (asked_.contains(name) || consumed_.contains(name)) continue;
    if (closest_match(name, wanted))
      fail(kv.first, "unknown key '" + qualified(name) + "' (did you mean '" + std::string(key) + "'?)");
  }
  fail(node_, message.empty() ? "missing required key '" + qualified(key) + "'" : std::string(message));
}

void YamlSection::record(const ConfigError& e) const {
  errors_->insert(errors_->end(), e.diagnostics().begin(), e.diagnostics().end());
}

void YamlSection::throw_recorded() const { throw ConfigError(sorted_diagnostics(*errors_)); }

}  // namespace dg::config
