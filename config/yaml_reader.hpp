#pragma once
/// Strict YAML reading for every config section: typed getters that report
/// `file:line:column: message`, detection of unknown keys (with a did-you-mean
/// suggestion), duplicate keys, and secrets given inline, from the environment
/// or from a file.
///
///   YamlSection s(root, "distillguard.yaml");
///   auto port = s.get<int>("port", 8080);
///   if (auto up = s.child("upstream")) { ... up->finish(); }
///   s.finish();   // throws every error recorded in the document
///
/// Errors are collected, not only the first: a wrong type or an out-of-range
/// value is recorded (`error()`) and reading goes on with the default; a
/// structural error (`fail()`, a missing required key) throws, and a caller
/// that can go on without the part it was reading catches it with
/// `recover()`. The root section (the one constructed directly) owns the list
/// of errors; its children share it; the root's finish() throws them all,
/// sorted by position. Errors are thrown as ConfigError (config loading is
/// start-up or reload code, never the data path).

#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dg::config {

/// One located configuration error.
struct Diagnostic {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the error has no position (a file that cannot be read)
  int column = 0;  ///< 1-based; 0 with line
  std::string message;  ///< the reason, without the position
  /// `file:line:column: message` (or `file: message` without a position).
  std::string text() const;
};

/// A configuration error: one or more Diagnostics; what() reads
/// `file:line:column: message`, one error a line.
class ConfigError : public std::runtime_error {
 public:
  /// One error, already formatted as `file:line:column: message`.
  explicit ConfigError(const std::string& message);
  /// Several errors (not empty), in the order given.
  explicit ConfigError(std::vector<Diagnostic> errors);
  const std::vector<Diagnostic>& diagnostics() const { return errors_; }

 private:
  std::vector<Diagnostic> errors_;
};

/// Sorts errors by file (in order of first appearance), then line and column
/// (stable), and drops repeats of one reason at one position.
std::vector<Diagnostic> sorted_diagnostics(const std::vector<Diagnostic>& errors);

/// The Diagnostic at a node (its position, when it has one).
Diagnostic diagnostic_at(const std::string& file, const YAML::Node& node, std::string_view message);

/// Formats `file:line:column: message` for a node (1-based line and column).
std::string located(const std::string& file, const YAML::Node& node, std::string_view message);

/// The candidate closest to `word` if it is close enough to be a typo of it
/// (optimal-string-alignment edit distance, case-insensitive, at most a third
/// of the word's length, at least 1; or one is a prefix of the other).
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" for closest_match, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Loads a YAML file whose top level is a mapping. A file that cannot be
/// read, a syntax error, an empty file (nothing but comments or blanks) and a
/// top level that is not a mapping are ConfigError. Duplicate mapping keys are
/// appended to `duplicates` when given, thrown otherwise.
YAML::Node load_yaml_file(const std::string& path, std::vector<Diagnostic>* duplicates = nullptr);

/// The largest configuration or policy file read (a path pointing at a
/// device such as /dev/zero, or a runaway generator, must not grow memory).
inline constexpr std::size_t kMaxConfigFileBytes = 4u << 20;

/// Reads a configuration or policy file of at most kMaxConfigFileBytes.
/// Throws ConfigError (`path: reason`) when it cannot be opened, read, or is larger.
std::string read_config_file(const std::string& path);
/// Parses YAML text; `file` names it in error messages. Syntax errors throw;
/// duplicate keys as for load_yaml_file. The result may be Null (empty text).
YAML::Node load_yaml_text(const std::string& text, const std::string& file,
                          std::vector<Diagnostic>* duplicates = nullptr);

/// A mapping node being read; remembers which keys were asked for and read.
class YamlSection {
 public:
  /// A root section with its own list of errors. `path` is the dotted
  /// location used in messages ("" for the document's top level).
  YamlSection(YAML::Node node, std::string file, std::string path = {});

  bool has(std::string_view key) const;

  /// Reads `key` as T, or returns `fallback` when absent. Wrong type: recorded, `fallback`.
  template <class T>
  T get(std::string_view key, T fallback) {
    auto n = take(key);
    if (!n) return fallback;
    if (auto v = convert<T>(*n, key)) return *v;
    return fallback;
  }

  /// Reads `key` as T; absent (see fail_missing) or wrong type -> throws.
  template <class T>
  T require(std::string_view key) {
    auto n = take(key);
    if (!n) fail_missing(key);
    if (auto v = convert<T>(*n, key)) return *v;
    throw_recorded();
  }

  /// A nested mapping, or nullopt when absent. Not a mapping -> ConfigError.
  std::optional<YamlSection> child(std::string_view key);

  /// A sequence of mappings (each returned as a section), empty when absent.
  std::vector<YamlSection> list_of_sections(std::string_view key);

  /// A sequence of scalars converted to T, empty when absent. Entries of the
  /// wrong type are recorded and left out.
  template <class T>
  std::vector<T> list(std::string_view key) {
    std::vector<T> out;
    auto n = take(key);
    if (!n) return out;
    if (!n->IsSequence()) fail(*n, "'" + qualified(key) + "' must be a list");
    for (const auto& item : *n)
      if (auto v = convert<T>(item, key)) out.push_back(std::move(*v));
    return out;
  }

  /// The raw node of a consumed key (for custom parsing), or nullopt.
  std::optional<YAML::Node> raw(std::string_view key) { return take(key); }

  /// A secret given as exactly one of `key: value`, `key_env: VARIABLE` or
  /// `key_file: /path` (the file's trailing whitespace and newline trimmed;
  /// an environment value's too); nullopt when none is given. More than one,
  /// an unset or empty variable, an unreadable or empty file -> throws, at the key.
  std::optional<std::string> secret(std::string_view key);

  /// Records every key that was never asked for as unknown (with the closest
  /// known key as a suggestion). On the root section, then throws every error
  /// recorded in the document (sorted), if any.
  void finish() const;
  /// finish(), then throws every error recorded in the document so far, if
  /// any: the last call of a reader's public parse function on the section it
  /// was given, so that it throws whether that section is a root or a child.
  void close() const;

  /// Records an error at `at`; reading goes on (the caller uses a default).
  void error(const YAML::Node& at, std::string_view message) const;
  /// Records an error at `at` and throws every error recorded so far.
  [[noreturn]] void fail(const YAML::Node& at, std::string_view message) const;
  /// A required `key` is absent: when a key of this mapping that nobody asked
  /// for is a likely typo of it, fails there ("unknown key 'acton' (did you
  /// mean 'action'?)"); otherwise fails with `message` (default "missing
  /// required key '...'") at the mapping.
  [[noreturn]] void fail_missing(std::string_view key, std::string_view message = {}) const;

  /// Runs `f`; a ConfigError it throws is recorded (so one bad rule or sink
  /// does not hide the errors of the next). Returns false when it threw.
  template <class F>
  bool recover(F&& f) {
    try {
      f();
      return true;
    } catch (const ConfigError& e) {
      record(e);
      return false;
    }
  }
  /// Records the errors of a ConfigError thrown by a reader of another section.
  void record(const ConfigError& e) const;
  /// No error recorded in the document so far.
  bool ok() const { return errors_->empty(); }

  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }
  /// The dotted location of this section ("" for the document's top level).
  const std::string& path() const { return path_; }
  std::string qualified(std::string_view key) const;
  /// The value under `key`, or this section's node when it has none: where
  /// an error about that setting points.
  YAML::Node value_or_self(std::string_view key) const;

 private:
  YamlSection(YAML::Node node, std::string file, std::string path, std::shared_ptr<std::vector<Diagnostic>> errors);
  std::optional<YAML::Node> take(std::string_view key);
  std::optional<YAML::Node> key_node(std::string_view key) const;
  [[noreturn]] void throw_recorded() const;

  template <class T>
  std::optional<T> convert(const YAML::Node& n, std::string_view key) const {
    if (!n.IsScalar()) {
      error(n, "'" + qualified(key) + "' must be a " + type_name<T>());
      return std::nullopt;
    }
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      error(n, "'" + qualified(key) + "' must be a " + type_name<T>() + ", got '" + n.Scalar() + "'");
      return std::nullopt;
    }
  }

  template <class T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, bool>) return "boolean (true/false)";
    else if constexpr (std::is_integral_v<T>) return "whole number";
    else if constexpr (std::is_floating_point_v<T>) return "number";
    else return "string";
  }

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::shared_ptr<std::vector<Diagnostic>> errors_;  ///< shared by the root and its children
  bool root_ = true;
  mutable std::set<std::string, std::less<>> asked_;  ///< keys a reader looked for (suggestions)
  std::set<std::string, std::less<>> consumed_;
};

}  // namespace dg::config
