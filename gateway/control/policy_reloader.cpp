#include "gateway/control/policy_reloader.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "config/yaml_reader.hpp"

namespace dg::gateway {

namespace net = boost::asio;

namespace {

bool read_file(const std::string& path, std::string& out, std::string& error) {
  try {
    out = config::read_config_file(path);
    return true;
  } catch (const config::ConfigError& e) {
    error = e.what();
    return false;
  }
}

}  // namespace

PolicyReloader::PolicyReloader(net::io_context& ioc, config::PolicySource source, detectors::PolicyEngine& engine,
                               std::chrono::milliseconds poll_interval)
    : ioc_(ioc), source_(std::move(source)), engine_(engine), poll_interval_(poll_interval), timer_(ioc), signals_(ioc) {}

double PolicyReloader::wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void PolicyReloader::load_initial(double now) {
  auto r = reload(now, true);
  if (!r.ok) throw config::ConfigError(r.error);
}

ReloadResult PolicyReloader::reload(double now, bool force) {
  std::lock_guard lock(mutex_);
  ReloadResult result;
  std::string text;
  if (std::string why; !read_file(source_.file, text, why)) {
    result.error = why + " (policy file)";
  } else {
    const auto hash = std::hash<std::string>{}(text);
    if (!force && have_hash_ && hash == last_hash_) {
      result.ok = last_error_.empty();
      result.error = last_error_;
      result.version = engine_.policy()->version;
      return result;
    }
    last_hash_ = hash;
    have_hash_ = true;
    try {
      const YAML::Node root = config::load_yaml_text(text, source_.file);
      if (!root.IsNull() && !root.IsMap())
        throw config::ConfigError(config::located(source_.file, root, "the top level must be a mapping"));
      auto policy = config::parse_policy_node(root, source_);
      std::vector<std::function<void()>> commits;
      for (const auto& prepare : prepares_)
        if (auto commit = prepare(root)) commits.push_back(std::move(commit));
      policy.version = next_version_++;
      policy.source = source_.file;
      policy.loaded_at = now;
      auto snapshot = std::make_shared<const detectors::Policy>(std::move(policy));
      engine_.set_policy(snapshot);
      for (auto& commit : commits) commit();
      last_error_.clear();
      ok_.fetch_add(1, std::memory_order_relaxed);
      result.ok = true;
      result.changed = true;
      result.version = snapshot->version;
      spdlog::info("policy v{} loaded from {} ({} rules{})", snapshot->version, source_.file, snapshot->rules.size(),
                   snapshot->shadow ? ", shadow mode" : "");
      if (on_reload_) on_reload_(*snapshot);
      return result;
    } catch (const config::ConfigError& e) {
      result.error = e.what();
    } catch (const YAML::Exception& e) {
      result.error = source_.file + ": " + e.what();
    }
  }
  last_error_ = result.error;
  failed_.fetch_add(1, std::memory_order_relaxed);
  result.version = engine_.policy()->version;
  // One log line even when the file has several errors.
  std::string one_line = result.error;
  for (auto pos = one_line.find('\n'); pos != std::string::npos; pos = one_line.find('\n', pos)) one_line.replace(pos, 1, "; ");
  spdlog::warn("policy reload rejected, keeping v{}: {}", result.version, one_line);
  return result;
}

void PolicyReloader::add_prepare(Prepare f) {
  std::lock_guard lock(mutex_);
  prepares_.push_back(std::move(f));
}

std::string PolicyReloader::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void PolicyReloader::start(bool handle_sighup) {
  stopped_ = false;
  schedule_poll();
  if (handle_sighup) {
    signals_.add(SIGHUP);
    wait_signal();
  }
}

void PolicyReloader::stop() {
  stopped_ = true;
  net::post(ioc_, [this] {
    timer_.cancel();
    boost::system::error_code ec;
    signals_.cancel(ec);
  });
}

void PolicyReloader::schedule_poll() {
  timer_.expires_after(poll_interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    reload(wall_now(), false);
    schedule_poll();
  });
}

void PolicyReloader::wait_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec || stopped_) return;
    spdlog::info("SIGHUP: reloading the policy");
    reload(wall_now(), true);
    wait_signal();
  });
}

}  // namespace dg::gateway
