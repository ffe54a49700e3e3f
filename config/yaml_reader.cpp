#include "config/yaml_reader.hpp"

#include <fstream>
#include <sstream>

namespace dg::config {

std::string located(const std::string& file, const YAML::Node& node, std::string_view message) {
  const auto mark = node.Mark();
  std::ostringstream out;
  out << file;
  // yaml-cpp marks are 0-based and -1 for nodes built in memory.
  if (mark.line >= 0) out << ':' << (mark.line + 1) << ':' << (mark.column + 1);
  out << ": " << message;
  return out.str();
}

YAML::Node load_yaml_text(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file << ':' << (e.mark.line + 1) << ':' << (e.mark.column + 1) << ": " << e.msg;
    throw ConfigError(out.str());
  }
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  auto root = load_yaml_text(text.str(), path);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(located(path, root, "the top level must be a mapping"));
  return root;
}

YamlSection::YamlSection(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  if (node_.IsNull()) node_ = YAML::Node(YAML::NodeType::Map);
  if (!node_.IsMap()) fail(node_, (path_.empty() ? std::string("document") : "'" + path_ + "'") + " must be a mapping");
}

bool YamlSection::has(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.Scalar() == key) return true;
  return false;
}

std::string YamlSection::qualified(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::optional<YAML::Node> YamlSection::take(std::string_view key) {
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
  return YamlSection(*n, file_, qualified(key));
}

std::vector<YamlSection> YamlSection::list_of_sections(std::string_view key) {
  std::vector<YamlSection> out;
  auto n = take(key);
  if (!n) return out;
  if (!n->IsSequence()) fail(*n, "'" + qualified(key) + "' must be a list");
  std::size_t i = 0;
  for (const auto& item : *n) {
    if (!item.IsMap()) fail(item, "'" + qualified(key) + "' entries must be mappings");
    out.emplace_back(item, file_, qualified(key) + "[" + std::to_string(i++) + "]");
  }
  return out;
}

void YamlSection::finish() const {
  for (const auto& kv : node_) {
    const auto& name = kv.first.Scalar();
    if (!consumed_.contains(name)) fail(kv.first, "unknown key '" + qualified(name) + "'");
  }
}

void YamlSection::fail(const YAML::Node& at, std::string_view message) const {
  throw ConfigError(located(file_, at, message));
}

}  // namespace dg::config
