#pragma once
/// Strict YAML reading for every config section: typed getters that report
/// `file:line:column: message`, and detection of unknown keys.
///
///   YamlSection s(root, "distillguard.yaml");
///   auto port = s.get<int>("port", 8080);
///   if (auto up = s.child("upstream")) { ... up->finish(); }
///   s.finish();   // throws on any key that was never read
///
/// Errors are thrown as ConfigError (config loading is start-up or reload
/// code, never the data path).

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dg::config {

/// A configuration error whose what() reads `file:line:column: message`.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Formats `file:line:column: message` for a node (1-based line and column).
std::string located(const std::string& file, const YAML::Node& node, std::string_view message);

/// Loads a YAML file; syntax errors become ConfigError with their position.
YAML::Node load_yaml_file(const std::string& path);
/// Parses YAML text; `file` names it in error messages.
YAML::Node load_yaml_text(const std::string& text, const std::string& file);

/// A mapping node being read; remembers which keys were consumed.
class YamlSection {
 public:
  /// `path` is the dotted location used in messages ("" for the root).
  YamlSection(YAML::Node node, std::string file, std::string path = {});

  bool has(std::string_view key) const;

  /// Reads `key` as T, or returns `fallback` when absent. Wrong type -> ConfigError.
  template <class T>
  T get(std::string_view key, T fallback) {
    auto n = take(key);
    if (!n) return fallback;
    return convert<T>(*n, key);
  }

  /// Reads `key` as T; absent -> ConfigError "missing required key".
  template <class T>
  T require(std::string_view key) {
    auto n = take(key);
    if (!n) fail(node_, "missing required key '" + qualified(key) + "'");
    return convert<T>(*n, key);
  }

  /// A nested mapping, or nullopt when absent. Not a mapping -> ConfigError.
  std::optional<YamlSection> child(std::string_view key);

  /// A sequence of mappings (each returned as a section), empty when absent.
  std::vector<YamlSection> list_of_sections(std::string_view key);

  /// A sequence of scalars converted to T, empty when absent.
  template <class T>
  std::vector<T> list(std::string_view key) {
    std::vector<T> out;
    auto n = take(key);
    if (!n) return out;
    if (!n->IsSequence()) fail(*n, "'" + qualified(key) + "' must be a list");
    for (const auto& item : *n) out.push_back(convert<T>(item, key));
    return out;
  }

  /// The raw node of a consumed key (for custom parsing), or nullopt.
  std::optional<YAML::Node> raw(std::string_view key) { return take(key); }

  /// Throws ConfigError naming the first key that was never read.
  void finish() const;

  [[noreturn]] void fail(const YAML::Node& at, std::string_view message) const;

  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }
  std::string qualified(std::string_view key) const;

 private:
  std::optional<YAML::Node> take(std::string_view key);

  template <class T>
  T convert(const YAML::Node& n, std::string_view key) const {
    if (!n.IsScalar()) fail(n, "'" + qualified(key) + "' must be a " + type_name<T>());
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(n, "'" + qualified(key) + "' must be a " + type_name<T>() + ", got '" + n.Scalar() + "'");
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
  std::set<std::string, std::less<>> consumed_;
};

}  // namespace dg::config
