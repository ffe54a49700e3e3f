#include "gateway/control/campaign_runtime.hpp"

#include <boost/json.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "config/campaign_config.hpp"
#include "detectors/campaign_engine_adapter.hpp"
#include "gateway/enforce/campaign_forwarding.hpp"

namespace dg::gateway {

namespace json = boost::json;

json::value campaigns_to_json(const detectors::CampaignLinker& linker) {
  json::array out;
  for (const auto& c : linker.campaigns()) {
    json::object o;
    o["id"] = c.campaign_id;
    o["score"] = c.score;
    o["members"] = c.member_fps.size();
    json::array fps, ev;
    for (const auto& fp : c.member_fps) fps.emplace_back(fp);
    for (const auto& e : c.evidence) ev.emplace_back(e);
    o["member_fps"] = std::move(fps);
    o["evidence"] = std::move(ev);
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

std::int64_t interval_ms(const detectors::CampaignConfig& c) {
  return std::max<std::int64_t>(1, std::llround(c.live_cluster_interval_s * 1000.0));
}

}  // namespace

CampaignRuntime::CampaignRuntime(detectors::CampaignConfig config, detectors::Engine& engine)
    : linker_(std::move(config)), stage_(linker_, engine, CampaignStage::Clustering::Timer),
      interval_ms_(interval_ms(*linker_.config())) {}

CampaignRuntime::~CampaignRuntime() { stop(); }

void CampaignRuntime::attach(DecisionStore& store) { stage_.attach(store); }

std::function<json::value()> CampaignRuntime::admin_provider() {
  return [this] { return campaigns_to_json(linker_); };
}

std::size_t CampaignRuntime::cluster(double now) { return stage_.cluster(now); }

std::size_t CampaignRuntime::cluster_latest() {
  const double now = latest_event_time();
  return now > 0 ? cluster(now) : 0;
}

void CampaignRuntime::start() {
  if (thread_.joinable()) return;
  timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  schedule();
  thread_ = std::thread([this] { ioc_.run(); });
}

void CampaignRuntime::schedule() {
  timer_->expires_after(interval());
  timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    try {
      cluster_latest();
    } catch (const std::exception& e) {
      spdlog::warn("campaign linker: {}", e.what());
    }
    schedule();
  });
}

std::vector<std::string> CampaignRuntime::reconfigure(detectors::CampaignConfig next) {
  const auto prev = linker_.config();
  const auto next_ms = interval_ms(next);
  auto ignored = linker_.reconfigure(std::move(next));
  for (const auto& field : ignored) spdlog::warn("campaigns.{} changes only on restart; keeping the running value", field);
  const auto cur = linker_.config();
  if (*cur != *prev)
    spdlog::info("campaigns section reloaded: linker {}, clustering every {} s", cur->enabled ? "enabled" : "disabled",
                 cur->live_cluster_interval_s);
  if (interval_ms_.exchange(next_ms, std::memory_order_relaxed) != next_ms) {
    // Re-arm on the timer's own thread: expires_after cancels the pending wait
    // (its handler sees operation_aborted and returns), so one wait remains.
    boost::asio::post(ioc_, [this] {
      if (timer_) schedule();
    });
  }
  return ignored;
}

PolicyReloader::Prepare CampaignRuntime::reload_hook(std::string path) {
  return [this, path = std::move(path)](const YAML::Node& root) -> std::function<void()> {
    const YAML::Node node = root["campaigns"];
    detectors::CampaignConfig next;
    if (node.IsDefined() && !node.IsNull()) {
      config::YamlSection section(node, path, "campaigns");
      next = config::parse_campaign_config(section);
    }
    return [this, next = std::move(next)]() mutable { reconfigure(std::move(next)); };
  };
}

void CampaignRuntime::stop() {
  if (!thread_.joinable()) return;
  ioc_.stop();
  thread_.join();
}

}  // namespace dg::gateway
