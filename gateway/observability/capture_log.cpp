#include "gateway/observability/capture_log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace dg::gateway {

namespace json = boost::json;

namespace {

void redact_string(json::value& v) {
  if (v.is_string()) v = "<redacted:" + std::to_string(v.get_string().size()) + " chars>";
}

/// content: a string, or a list of parts ({type: text, text}, strings).
void redact_content(json::value& v) {
  if (v.is_string()) {
    redact_string(v);
  } else if (v.is_array()) {
    for (auto& part : v.get_array()) {
      if (part.is_string()) redact_string(part);
      else if (part.is_object()) {
        auto& o = part.get_object();
        for (const char* key : {"text", "content", "input_text"})
          if (auto* t = o.if_contains(key)) redact_content(*t);
      }
    }
  }
}

}  // namespace

void redact_prompt_text(json::value& body) {
  if (!body.is_object()) return;
  auto& o = body.get_object();
  for (const char* list_key : {"messages", "input"}) {
    auto* list = o.if_contains(list_key);
    if (!list) continue;
    if (list->is_string()) redact_string(*list);
    else if (list->is_array())
      for (auto& m : list->get_array()) {
        if (m.is_string()) redact_string(m);
        else if (m.is_object())
          if (auto* c = m.get_object().if_contains("content")) redact_content(*c);
      }
  }
  for (const char* key : {"prompt", "system", "instructions"})
    if (auto* v = o.if_contains(key)) redact_content(*v);
}

std::string make_traffic_record(const detectors::Exchange& ex, std::string_view body, bool include_content) {
  json::object rec;
  rec["ts"] = ex.ts;
  rec["key"] = ex.key_fp;
  if (!ex.client_ip.empty()) rec["client_ip"] = ex.client_ip;
  if (!ex.user_agent.empty()) rec["user_agent"] = ex.user_agent;
  rec["method"] = ex.method;
  rec["path"] = ex.path;
  if (!ex.tenant.empty()) rec["tenant"] = ex.tenant;
  boost::system::error_code ec;
  json::value request = body.empty() ? json::value(json::object()) : json::parse(body, ec);
  if (ec || !request.is_object()) request = json::object();
  if (!include_content) redact_prompt_text(request);
  rec["request"] = std::move(request);
  json::object resp;
  resp["status"] = ex.response.status;
  resp["prompt_tokens"] = ex.response.prompt_tokens;
  resp["completion_tokens"] = ex.response.completion_tokens;
  if (ex.response.usage_estimated) resp["usage_estimated"] = true;
  resp["latency_ms"] = ex.response.latency_ms;
  rec["response"] = std::move(resp);
  return json::serialize(rec);
}

CaptureLog::CaptureLog(const std::string& path, bool include_content) : include_content_(include_content) {
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) throw std::runtime_error(path + ": cannot open capture log for appending");
  writer_ = std::thread([this] { run(); });
}

CaptureLog::~CaptureLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  std::fclose(file_);
}

bool CaptureLog::append(std::string line) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    line.push_back('\n');
    queue_.push_back(std::move(line));
    ++enqueued_;
  }
  wake_.notify_one();
  return true;
}

void CaptureLog::flush() {
  std::unique_lock lock(mutex_);
  const auto target = enqueued_;
  drained_.wait(lock, [&] { return written_ >= target; });
}

void CaptureLog::run() {
  std::deque<std::string> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) break;
    batch.swap(queue_);
    lock.unlock();
    for (const auto& line : batch)
      if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) dropped_.fetch_add(1, std::memory_order_relaxed);
    std::fflush(file_);
    const auto n = batch.size();
    batch.clear();
    lock.lock();
    written_ += n;
    drained_.notify_all();
  }
}

}  // namespace dg::gateway
