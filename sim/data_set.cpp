#include "sim/data_set.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dg::sim {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

/// One ServeGen trace file; false when the client never sent anything.
bool load_trace_file(const fs::path& f, ClientTrace& ct) {
  ct.name = f.parent_path().filename().string() + "/" + f.stem().string();
  std::istringstream in(read_all(f));
  std::string line;
  double total = 0;
  while (std::getline(in, line)) {
    auto cols = split(line, ',');
    if (cols.size() < 4) continue;
    RateWindow w;
    w.start_s = std::strtod(cols[0].c_str(), nullptr);
    w.rate = std::strtod(cols[1].c_str(), nullptr);
    w.cv = std::strtod(cols[2].c_str(), nullptr);
    w.weibull = cols[3] == "Weibull";
    total += w.rate * 600;
    ct.windows.push_back(w);
  }
  if (ct.windows.empty()) return false;
  const double days = static_cast<double>(ct.windows.size()) * 600 / 86400;
  ct.mean_daily_requests = total / std::max(days, 1e-9);
  return ct.mean_daily_requests > 0;
}

/// "{39: 0.0003, 40: 0.0001, ...}" (a Python dict literal of value: probability).
std::vector<std::pair<double, double>> parse_distribution(std::string_view s) {
  std::vector<std::pair<double, double>> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto colon = s.find(':', pos);
    if (colon == std::string_view::npos) break;
    auto comma = s.find(',', colon);
    if (comma == std::string_view::npos) comma = s.find('}', colon);
    if (comma == std::string_view::npos) comma = s.size();
    std::string key(s.substr(pos, colon - pos)), val(s.substr(colon + 1, comma - colon - 1));
    key.erase(std::remove_if(key.begin(), key.end(), [](char c) { return c == '{' || c == ' '; }), key.end());
    const double v = std::strtod(key.c_str(), nullptr), p = std::strtod(val.c_str(), nullptr);
    if (p > 0) out.emplace_back(v, p);
    pos = comma + 1;
  }
  return out;
}

double sample_distribution(const std::vector<std::pair<double, double>>& d, double u) {
  double total = 0;
  for (const auto& [v, p] : d) total += p;
  double acc = 0;
  for (const auto& [v, p] : d) {
    acc += p / total;
    if (u < acc) return v;
  }
  return d.empty() ? 0 : d.back().first;
}

/// ServeGen reasoning clients: chunk-N-trace.csv with chunk-N-dataset.json.
/// Token sizes: 6 draws per window from its input and output marginals
/// (the joint is not published), with a generator seeded by the file name.
void load_reason(const fs::path& dir, std::vector<ReasonClient>& out) {
  if (!fs::is_directory(dir)) return;
  std::vector<fs::path> traces;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().ends_with("-trace.csv")) traces.push_back(e.path());
  std::sort(traces.begin(), traces.end());
  for (const auto& t : traces) {
    ReasonClient rc;
    if (!load_trace_file(t, rc.trace)) continue;
    std::string stem = t.filename().string();
    stem.resize(stem.size() - std::string("-trace.csv").size());
    const fs::path ds = t.parent_path() / (stem + "-dataset.json");
    if (!fs::exists(ds)) continue;
    std::uint64_t seed = 1469598103934665603ULL;
    for (unsigned char c : stem) seed = (seed ^ c) * 1099511628211ULL;
    std::uint64_t state = seed;
    auto uniform = [&state]() {  // splitmix64: data loading needs no more
      std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    };
    const auto v = json::parse(read_all(ds));
    for (const auto& [window, fields] : v.as_object()) {
      const auto& f = fields.as_object();
      const auto* in = f.if_contains("input_tokens");
      const auto* outp = f.if_contains("output_tokens");
      if (!in || !outp || !in->is_string() || !outp->is_string()) continue;
      const auto din = parse_distribution(in->as_string()), dout = parse_distribution(outp->as_string());
      if (din.empty() || dout.empty()) continue;
      for (int i = 0; i < 6; ++i)
        rc.tokens.push_back({static_cast<std::uint32_t>(sample_distribution(din, uniform())),
                             static_cast<std::uint32_t>(sample_distribution(dout, uniform()))});
    }
    if (!rc.tokens.empty()) out.push_back(std::move(rc));
  }
}

void load_servegen(const fs::path& dir, std::vector<ClientTrace>& out) {
  std::vector<fs::path> files;
  for (const char* tier : {"m-large", "m-mid", "m-small"}) {
    fs::path d = dir / tier;
    if (!fs::is_directory(d)) throw std::runtime_error(d.string() + ": missing ServeGen directory");
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".csv") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // directory order is not stable
  for (const auto& f : files) {
    ClientTrace ct;
    if (load_trace_file(f, ct)) out.push_back(std::move(ct));  // skips clients that never sent anything
  }
}

void load_azure(const fs::path& f, std::vector<TokenPair>& out) {
  std::istringstream in(read_all(f));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    auto cols = split(line, ',');
    if (cols.size() < 3) continue;
    TokenPair p;
    p.input = static_cast<std::uint32_t>(std::strtoul(cols[1].c_str(), nullptr, 10));
    p.output = static_cast<std::uint32_t>(std::strtoul(cols[2].c_str(), nullptr, 10));
    out.push_back(p);
  }
}

void load_mooncake(const fs::path& f, std::vector<TokenPair>& out) {
  std::istringstream in(read_all(f));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = json::parse(line).as_object();
    TokenPair p;
    p.input = static_cast<std::uint32_t>(v.at("input_length").to_number<std::int64_t>());
    p.output = static_cast<std::uint32_t>(v.at("output_length").to_number<std::int64_t>());
    out.push_back(p);
  }
}

void load_sharegpt(const fs::path& f, std::vector<std::string>& out) {
  auto v = json::parse(read_all(f));
  for (const auto& item : v.as_array()) {
    const auto* conv = item.as_object().if_contains("conversations");
    if (!conv || !conv->is_array() || conv->as_array().empty()) continue;
    const auto& first = conv->as_array()[0].as_object();
    const auto* text = first.if_contains("value");
    if (!text || !text->is_string()) continue;
    std::string s(text->as_string());
    if (s.size() < 8) continue;
    out.push_back(std::move(s));
  }
}

void load_gsm8k(const fs::path& f, std::vector<Gsm8kItem>& out) {
  std::istringstream in(read_all(f));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = json::parse(line).as_object();
    Gsm8kItem g;
    g.question = std::string(v.at("question").as_string());
    g.answer = std::string(v.at("answer").as_string());
    auto pos = g.answer.rfind("####");
    g.final_answer = pos == std::string::npos ? "" : g.answer.substr(pos + 4);
    while (!g.final_answer.empty() && g.final_answer.front() == ' ') g.final_answer.erase(0, 1);
    out.push_back(std::move(g));
  }
}

void load_alpaca(const fs::path& dir, std::vector<Instruction>& out) {
  auto v = json::parse(read_all(dir / "alpaca_5000.json"));
  for (const auto& item : v.as_array()) {
    const auto& o = item.as_object();
    Instruction ins;
    ins.instruction = std::string(o.at("instruction").as_string());
    if (const auto* in = o.if_contains("input"); in && in->is_string()) ins.input = std::string(in->as_string());
    out.push_back(std::move(ins));
  }
  std::istringstream in(read_all(dir / "seed_tasks.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto o = json::parse(line).as_object();
    Instruction ins;
    ins.instruction = std::string(o.at("instruction").as_string());
    if (const auto* inst = o.if_contains("instances"); inst && inst->is_array() && !inst->as_array().empty()) {
      const auto& first = inst->as_array()[0].as_object();
      if (const auto* x = first.if_contains("input"); x && x->is_string()) ins.input = std::string(x->as_string());
    }
    out.push_back(std::move(ins));
  }
}

}  // namespace

std::shared_ptr<const DataSet> DataSet::load(const std::string& dir) {
  auto ds = std::make_shared<DataSet>();
  const fs::path root(dir);
  try {
    load_servegen(root / "traces/servegen/language", ds->clients);
    load_azure(root / "traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv", ds->azure_conv);
    load_azure(root / "traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv", ds->azure_code);
    load_mooncake(root / "traces/mooncake_fast25/conversation_trace.jsonl", ds->mooncake);
    load_sharegpt(root / "prompts/sharegpt/ShareGPT_V3_filtered_1000.json", ds->sharegpt);
    load_sharegpt(root / "prompts/sharegpt/sg_90k_part1_html_cleaned_lang_first_sampled.json", ds->sharegpt);
    load_gsm8k(root / "prompts/gsm8k/train.jsonl", ds->gsm8k_train);
    load_gsm8k(root / "prompts/gsm8k/test.jsonl", ds->gsm8k_test);
    load_alpaca(root / "prompts/alpaca_selfinstruct", ds->alpaca);
    load_reason(root / "traces/servegen/reason/deepseek-r1", ds->reason_clients);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(dir + ": malformed data file: " + e.what());
  }
  if (ds->clients.empty() || ds->azure_conv.empty() || ds->sharegpt.empty() || ds->gsm8k_test.empty() ||
      ds->alpaca.empty() || ds->mooncake.empty() || ds->azure_code.empty())
    throw std::runtime_error(dir + ": data set incomplete");
  return ds;
}

std::shared_ptr<const DataSet> DataSet::load_or_builtin(const std::string& dir, std::string* source) {
  std::error_code ec;
  const fs::path root(dir);
  const bool has_data = dir != "builtin" && (fs::exists(root / "traces", ec) || fs::exists(root / "prompts", ec));
  if (!has_data) {
    if (source) *source = "built-in data set (no traces/ or prompts/ under '" + dir + "')";
    return builtin();
  }
  if (source) *source = "real data under " + dir;
  return load(dir);
}

}  // namespace dg::sim
