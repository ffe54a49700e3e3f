#pragma once
// Loads real prompt text from ../shared/data/prompts for analyzer tests.
// Returns empty vectors (the tests WARN and skip) when the data is absent.

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/shared_data_dir.hpp"

namespace dg::test {



inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// GSM8K (question, final numeric answer) pairs from test.jsonl.
inline std::vector<std::pair<std::string, std::string>> gsm8k(std::size_t limit) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(shared_data_dir() + "/prompts/gsm8k/test.jsonl");
  std::string line;
  while (out.size() < limit && std::getline(in, line)) {
    const boost::json::value v = boost::json::parse(line);
    std::string answer(v.at("answer").as_string());
    auto p = answer.rfind("#### ");
    out.emplace_back(std::string(v.at("question").as_string()), p == std::string::npos ? "" : answer.substr(p + 5));
  }
  return out;
}

inline std::vector<std::string> alpaca(std::size_t limit) {
  std::vector<std::string> out;
  auto text = read_file(shared_data_dir() + "/prompts/alpaca_selfinstruct/alpaca_5000.json");
  if (text.empty()) return out;
  const boost::json::value doc = boost::json::parse(text);
  for (const auto& item : doc.as_array()) {
    if (out.size() >= limit) break;
    const auto& o = item.as_object();
    std::string p(o.at("instruction").as_string());
    if (auto in = o.if_contains("input"); in && !in->as_string().empty()) p += "\n\n" + std::string(in->as_string());
    out.push_back(std::move(p));
  }
  return out;
}

inline std::vector<std::string> sharegpt(std::size_t limit) {
  std::vector<std::string> out;
  auto text = read_file(shared_data_dir() + "/prompts/sharegpt/ShareGPT_V3_filtered_1000.json");
  if (text.empty()) return out;
  const boost::json::value doc = boost::json::parse(text);
  for (const auto& item : doc.as_array()) {
    if (out.size() >= limit) break;
    const auto& conv = item.as_object().at("conversations").as_array();
    if (conv.empty()) continue;
    out.emplace_back(conv[0].as_object().at("value").as_string());
  }
  return out;
}

}  // namespace dg::test
