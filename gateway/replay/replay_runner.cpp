#include "gateway/replay/replay_runner.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <cstdio>
#include <iomanip>
#include <stdexcept>
#include <unordered_map>

#include "config/campaign_config.hpp"
#include "config/config.hpp"
#include "config/detection_config.hpp"
#include "config/policy_config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/detector_scores.hpp"
#include "detectors/policy_engine.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/campaign_forwarding.hpp"
#include "gateway/enforce/engine_assessment_source.hpp"
#include "gateway/enforce/exchange_pipeline.hpp"
#include "gateway/files/json_text.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/traffic_reader.hpp"
#include "gateway/traffic/request_features.hpp"

#include "detectors/engine.hpp"
#include "detectors/prompt_analyzer.hpp"

namespace dg::gateway {

namespace json = boost::json;

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void append_json_string(std::string_view s, std::string& out) { out += json::serialize(json::string(s)); }

void append_number(double v, std::string& out, const char* fmt = "%.4g") {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  out += buf;
}


}  // namespace

/// Lets the maps be searched with a string_view without building a string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct ReplayRunner::Impl {
  std::ostream* output = nullptr;
  bool detect = true;
  double max_disorder = TrafficReader::kDefaultMaxDisorder;
  std::string salt;
  double threshold = 0.8;
  ReplayStats stats;
  std::unordered_map<std::string, ReplayKeySummary, StringHash, std::equal_to<>> keys;  // by fingerprint
  /// Raw key -> its summary (whose key_fp is the fingerprint): one lookup
  /// per record. Map nodes do not move, so the pointers stay valid.
  std::unordered_map<std::string, ReplayKeySummary*, StringHash, std::equal_to<>> by_raw_key;
  detectors::Exchange exchange;  ///< reused by observe()
  std::string line;
  ExtractedRequest extracted;  // reused: its strings keep their capacity across records
  detectors::EngineConfig config;
  std::unique_ptr<detectors::PromptAnalyzer> analyzer;
  std::unique_ptr<detectors::Engine> engine;
  // The live exchange pipeline (exchange_pipeline.hpp) with the same policy
  // and campaign linker as live (config sections `policy` and `campaigns`);
  // clustering on event time, decisions in a store that keeps them in
  // memory only (escalation), no journal, no audit.
  std::unique_ptr<EngineAssessmentSource> detection;
  std::unique_ptr<detectors::CampaignLinker> linker;
  std::unique_ptr<CampaignStage> campaigns;
  std::unique_ptr<detectors::PolicyEngine> policy;  ///< null: no rules, no decisions
  DecisionStore store{DecisionStoreOptions{}};
  std::unique_ptr<ExchangePipeline> pipeline;

  void write_line(std::string_view event, double ts, const std::string& fp, const detectors::KeyAssessment& a,
                  const detectors::Decision* d);

  ReplayKeySummary& summary_of(std::string_view key) {
    if (auto it = by_raw_key.find(key); it != by_raw_key.end()) return *it->second;
    std::string fp = is_fingerprint(key) ? std::string(key) : key_fingerprint(key, salt);
    auto [k, added] = keys.try_emplace(fp);
    if (added) k->second.key_fp = fp;
    return *by_raw_key.emplace(std::string(key), &k->second).first->second;
  }
};

ReplayRunner::ReplayRunner(const std::string& config_path, std::ostream* output) : impl_(std::make_unique<Impl>()) {
  impl_->output = output;
  // Every section, as the proxy reads it (an absent file: built-in defaults).
  config::Config cfg;
  if (!config_path.empty()) cfg = config::load_config(config_path);
  impl_->salt = cfg.proxy.identity.fingerprint_salt;
  impl_->config = config::load_detection_config(cfg);
  impl_->threshold = impl_->config.combine.risk_threshold;
  impl_->analyzer = std::make_unique<detectors::PromptAnalyzer>(impl_->config.lexicon, impl_->config.max_scan_bytes);
  impl_->engine = std::make_unique<detectors::Engine>(impl_->config);
  impl_->detection = std::make_unique<EngineAssessmentSource>(*impl_->engine);
  if (auto campaigns = config::load_campaign_config(cfg); campaigns.enabled) {
    impl_->linker = std::make_unique<detectors::CampaignLinker>(std::move(campaigns));
    impl_->campaigns = std::make_unique<CampaignStage>(*impl_->linker, *impl_->engine,
                                                       CampaignStage::Clustering::EventTime);
    impl_->campaigns->attach(impl_->store);
  }
  if (!config_path.empty()) {
    auto policy = std::make_shared<detectors::Policy>(config::load_policy(config::locate_policy(config_path)));
    if (!policy->rules.empty()) impl_->policy = std::make_unique<detectors::PolicyEngine>(std::move(policy));
  }
  impl_->pipeline = std::make_unique<ExchangePipeline>(impl_->policy.get(), impl_->store, impl_->detection.get());
  impl_->pipeline->set_campaigns(impl_->campaigns.get());
}

ReplayRunner::~ReplayRunner() = default;

void ReplayRunner::set_detection(bool enabled) { impl_->detect = enabled; }
void ReplayRunner::set_max_disorder(double seconds) { impl_->max_disorder = seconds; }

const ReplayStats& ReplayRunner::stats() const { return impl_->stats; }
double ReplayRunner::alert_threshold() const { return impl_->threshold; }

std::map<std::string, double> ReplayRunner::detector_thresholds() const {
  // Every per-key detector, from the engine's own table: a new detector
  // needs no entry here.
  std::map<std::string, double> out;
  for (std::size_t id = 0; id < detectors::kDetectorCount; ++id) {
    const auto d = static_cast<detectors::DetectorId>(id);
    out.emplace(std::string(detectors::detector_name(d)), detectors::detector_common(impl_->config, d).threshold);
  }
  return out;
}

namespace {
/// Text the capture's redaction left in place of a string ("<redacted:N chars>").
bool is_redaction(std::string_view text) noexcept { return text.starts_with("<redacted:"); }
}  // namespace

void ReplayRunner::observe(const TrafficRecord& r) {
  Impl& m = *impl_;
  ++m.stats.records;
  if (r.key.empty()) {  // no key to score or decide on, as live
    ++m.stats.anonymous;
    return;
  }
  ReplayKeySummary& sum = m.summary_of(r.key);
  const std::string& fp = sum.key_fp;
  ++sum.requests;
  sum.prompt_tokens += r.prompt_tokens.value_or(0);
  sum.completion_tokens += r.completion_tokens.value_or(0);
  if (!m.detect) return;
  // One Exchange reused across records: its strings keep their capacity, so
  // building it allocates nothing in the steady state. Every field is set.
  detectors::Exchange& ex = m.exchange;
  ex.ts = r.ts;
  ex.key_fp = fp;
  ex.client_ip.assign(r.client_ip);
  ex.user_agent.assign(r.user_agent);
  ex.method.assign(r.method);
  ex.path.assign(r.path);
  extract_request_features(r.path, r.request, m.extracted);
  ex.request = m.extracted.features;
  if (r.prompt_features) {
    // A redacted capture: the features the proxy derived from the text.
    ++m.stats.redacted_with_features;
    ex.request.prompt = *r.prompt_features;
    if (r.prompt_chars) ex.request.prompt_chars = *r.prompt_chars;
  } else {
    if (r.redacted || is_redaction(m.extracted.text.last_user) || is_redaction(m.extracted.text.system))
      ++m.stats.redacted_without_features;
    ex.request.prompt = m.analyzer->analyze(m.extracted.text);
  }
  ex.response = detectors::ResponseFeatures{};
  ex.response.status = r.status;
  ex.response.prompt_tokens = r.prompt_tokens.value_or(0);
  ex.response.completion_tokens = r.completion_tokens.value_or(0);
  ex.response.usage_estimated = !r.prompt_tokens && !r.completion_tokens;
  ex.response.latency_ms = r.latency_ms;
  // The live path: linker, engine, policy, store.
  auto result = m.pipeline->run(ex);
  if (result.detection == PipelineResult::Detection::Failed) throw std::runtime_error(result.error);
  const detectors::KeyAssessment& a = result.assessment;
  if (const auto& d = result.decision) {
    ++m.stats.decisions;
    sum.final_action = std::string(detectors::to_string(d->action));
    if (m.output) m.write_line("decision", r.ts, fp, a, &*d);
  }
  if (a.risk > sum.max_risk) {
    sum.max_risk = a.risk;
    sum.top_evidence.clear();
    for (const auto& f : a.findings)
      for (const auto& e : f.evidence)
        if (sum.top_evidence.size() < 4) sum.top_evidence.push_back(e);
  }
  if (!a.campaign.empty()) sum.campaign = a.campaign;
  if (a.risk >= m.threshold && sum.alert_index == 0) {
    if (!m.policy) sum.final_action = "alert";
    sum.alert_ts = r.ts;
    sum.alert_index = a.request_index;
  }
  for (const auto& f : a.scores) {
    // Every detector is listed from the key's first record on; later a zero
    // score cannot raise its maximum (the map lookup is the cost here).
    if (f.score <= 0 && sum.requests > 1) continue;
    auto& best = sum.max_scores[f.detector];
    best = std::max(best, f.score);
  }
  if (a.new_finding) {
    ++m.stats.findings;
    if (!sum.first_finding_ts) {
      sum.first_finding_ts = r.ts;
      sum.first_finding_index = a.request_index;
    }
    for (const auto& f : a.findings)
      if (std::find(sum.detectors.begin(), sum.detectors.end(), f.detector) == sum.detectors.end())
        sum.detectors.push_back(f.detector);
    if (m.output) m.write_line("finding", r.ts, fp, a, nullptr);
  }
}

void ReplayRunner::Impl::write_line(std::string_view event, double ts, const std::string& fp,
                                    const detectors::KeyAssessment& a, const detectors::Decision* d) {
  std::string& l = line;
  l.clear();
  l += "{\"ts\":";
  append_number(ts, l, "%.3f");
  l += ",\"key\":";
  append_json_string(fp, l);
  l += ",\"event\":";
  append_json_string(event, l);
  if (d) {
    l += ",\"action\":";
    append_json_string(detectors::to_string(d->action), l);
    if (d->action == detectors::Action::Shadow) {
      l += ",\"intended\":";
      append_json_string(detectors::to_string(d->intended), l);
    }
    l += ",\"rule\":";
    append_json_string(d->rule, l);
  }
  l += ",\"risk\":";
  append_number(a.risk, l);
  bool campaign_origin = false;
  for (const auto& f : a.findings) campaign_origin |= f.detector == "campaign";
  l += ",\"origin\":";
  l += campaign_origin ? "\"campaign\"" : "\"detector\"";
  l += ",\"detectors\":{";
  bool first = true;
  for (const auto& f : a.findings) {
    if (!first) l += ',';
    first = false;
    append_json_string(f.detector, l);
    l += ':';
    append_number(f.score, l);
  }
  l += '}';
  if (!a.campaign.empty()) {
    l += ",\"campaign\":";
    append_json_string(a.campaign, l);
  }
  l += ",\"evidence\":[";
  first = true;
  const auto evidence = [&](const std::string& e) {
    if (!first) l += ',';
    first = false;
    append_json_string(e, l);
  };
  if (d && !d->evidence.empty()) {
    for (const auto& e : d->evidence) evidence(e);
  } else {
    for (const auto& f : a.findings)
      for (const auto& e : f.evidence) evidence(e);
  }
  l += "],\"request_index\":";
  l += std::to_string(a.request_index);
  l += "}\n";
  output->write(l.data(), static_cast<std::streamsize>(l.size()));
}

bool ReplayRunner::replay_files(const std::vector<std::string>& files, std::ostream& errors,
                                const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = thread_cpu_seconds();
  double last_ts = -1e300;
  std::uint64_t total = 0, done_before = 0;
  for (const auto& f : files) {
    std::error_code ec;
    if (f != "-") total += std::filesystem::file_size(f, ec);
  }
  bool ok = true;
  for (const auto& f : files) {
    TrafficReader reader;
    if (!reader.open(f)) {
      errors << f << ": " << reader.error() << "\n";
      ok = false;
      break;
    }
    reader.set_last_ts(last_ts);
    reader.set_max_disorder(impl_->max_disorder);
    TrafficRecord rec;
    std::uint64_t n = 0;
    for (;;) {
      const auto res = reader.next(rec);
      if (res == TrafficReader::Result::End) break;
      if (res == TrafficReader::Result::BadLine) {
        ++impl_->stats.bad_lines;
        errors << f << ":" << reader.line() << ": " << reader.error() << "\n";
        continue;
      }
      observe(rec);
      if (progress && (++n & 0x3fff) == 0) progress(done_before + reader.bytes_read(), total);
    }
    last_ts = reader.last_ts();
    impl_->stats.reordered += reader.reordered();
    done_before += reader.bytes_read();
  }
  impl_->stats.bytes += done_before;
  if (progress) progress(done_before, total);
  impl_->stats.cpu_seconds += thread_cpu_seconds() - cpu0;
  impl_->stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ok;
}

std::vector<ReplayKeySummary> ReplayRunner::summaries() const {
  std::vector<ReplayKeySummary> out;
  out.reserve(impl_->keys.size());
  for (const auto& [fp, s] : impl_->keys) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.max_risk != b.max_risk ? a.max_risk > b.max_risk : a.key_fp < b.key_fp;
  });
  return out;
}

void write_summary_table(const std::vector<ReplayKeySummary>& rows, const ReplayStats& stats, std::ostream& out,
                         std::size_t limit) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-19s %9s %12s %12s %5s %10s %7s  %s\n", "key", "requests", "prompt_tok",
                "compl_tok", "risk", "1st_find@", "action", "top evidence");
  out << buf;
  std::size_t shown = 0;
  for (const auto& r : rows) {
    if (shown++ >= limit) break;
    const std::string first = r.first_finding_index ? "#" + std::to_string(r.first_finding_index) : "-";
    const std::string evidence = r.top_evidence.empty() ? "" : r.top_evidence.front();
    std::snprintf(buf, sizeof buf, "%-19s %9llu %12llu %12llu %5.2f %10s %7s  %s\n", r.key_fp.c_str(),
                  static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.prompt_tokens),
                  static_cast<unsigned long long>(r.completion_tokens), r.max_risk, first.c_str(),
                  r.final_action.c_str(), evidence.c_str());
    out << buf;
  }
  if (rows.size() > limit) out << "... " << rows.size() - limit << " more keys (use --summary-json for all)\n";
  std::snprintf(buf, sizeof buf,
                "%zu keys, %llu records (%llu without a key), %llu findings, %llu decisions, %llu bad lines, %.2f s wall, %.2f s CPU (%.0f records/s of CPU)\n",
                rows.size(), static_cast<unsigned long long>(stats.records), static_cast<unsigned long long>(stats.anonymous),
                static_cast<unsigned long long>(stats.findings), static_cast<unsigned long long>(stats.decisions),
                static_cast<unsigned long long>(stats.bad_lines),
                stats.seconds, stats.cpu_seconds,
                stats.cpu_seconds > 0 ? static_cast<double>(stats.records) / stats.cpu_seconds : 0.0);
  out << buf;
}

void write_summary_json(const std::vector<ReplayKeySummary>& rows, const ReplayStats& stats, double alert_threshold,
                        std::ostream& out, const std::map<std::string, double>& detector_thresholds) {
  json::object root;
  root["stats"] = json::object{{"records", stats.records},
                               {"bad_lines", stats.bad_lines},
                               {"anonymous", stats.anonymous},
                               {"reordered", stats.reordered},
                               {"findings", stats.findings},
                               {"decisions", stats.decisions},
                               {"bytes", stats.bytes},
                               {"redacted_with_features", stats.redacted_with_features},
                               {"redacted_without_features", stats.redacted_without_features},
                               {"seconds", stats.seconds},
                               {"cpu_seconds", stats.cpu_seconds},
                               {"alert_threshold", alert_threshold},
                               {"engine_bytes_per_key", detectors::Engine::bytes_per_key()}};
  json::object thresholds;
  for (const auto& [name, t] : detector_thresholds) thresholds[name] = t;
  root["stats"].as_object()["detector_thresholds"] = std::move(thresholds);
  json::array keys;
  for (const auto& r : rows) {
    json::object k;
    k["key"] = r.key_fp;
    k["requests"] = r.requests;
    k["prompt_tokens"] = r.prompt_tokens;
    k["completion_tokens"] = r.completion_tokens;
    k["max_risk"] = r.max_risk;
    if (r.first_finding_ts) {
      k["first_finding_ts"] = *r.first_finding_ts;
      k["first_finding_request_index"] = r.first_finding_index;
    } else {
      k["first_finding_ts"] = nullptr;
    }
    k["final_action"] = r.final_action;
    json::array dets;
    for (const auto& d : r.detectors) dets.push_back(json::string(d));
    k["detectors"] = std::move(dets);
    json::array ev;
    for (const auto& e : r.top_evidence) ev.push_back(json::string(e));
    k["top_evidence"] = std::move(ev);
    if (!r.campaign.empty()) k["campaign"] = r.campaign;
    if (r.alert_index) {
      k["alert_ts"] = r.alert_ts;
      k["alert_request_index"] = r.alert_index;
    }
    json::object scores;
    for (const auto& [name, score] : r.max_scores) scores[name] = score;
    k["max_scores"] = std::move(scores);
    keys.push_back(std::move(k));
  }
  root["keys"] = std::move(keys);
  out << to_json_text(root) << "\n";
}

}  // namespace dg::gateway
