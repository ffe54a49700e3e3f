#include "gateway/decisions/decision_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "gateway/decisions/decision_json.hpp"
#include "gateway/files/json_text.hpp"

namespace dg::gateway {

namespace json = boost::json;
using detectors::Decision;

namespace {

double monotonic_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string put_line(const Decision& d) {
  json::object o;
  o["op"] = "put";
  o["decision"] = decision_to_json(d);
  return to_json_text(o) + "\n";
}

// The directory entry of a renamed file is durable only once its directory is synced.
void fsync_dir(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

DecisionJournal::DecisionJournal(JournalOptions options)
    : options_(std::move(options)), file_(options_.path) {}

DecisionJournal::~DecisionJournal() = default;

JournalLoad DecisionJournal::load(const std::string& path) {
  JournalLoad out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(path)) out.warnings.push_back(path + ": cannot open decision journal");
    return out;
  }
  std::map<std::string, Decision> state;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const bool last_without_newline = in.eof();
    if (line.empty()) continue;
    const auto where = path + ":" + std::to_string(lineno) + ": ";
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      out.warnings.push_back(where + (last_without_newline ? "torn last line (incomplete write before a crash), skipped"
                                                           : "not a JSON object, skipped"));
      continue;
    }
    const auto& o = v.get_object();
    const auto* op = o.if_contains("op");
    if (op && op->is_string() && op->get_string() == "put" && o.contains("decision")) {
      std::string error;
      auto d = decision_from_json(o.at("decision"), error);
      if (!d) {
        out.warnings.push_back(where + error + ", skipped");
        continue;
      }
      state[d->key_fp] = std::move(*d);
    } else if (op && op->is_string() && op->get_string() == "remove" && o.contains("key_fp") &&
               o.at("key_fp").is_string()) {
      state.erase(std::string(o.at("key_fp").get_string()));
    } else {
      out.warnings.push_back(where + "unknown record, skipped");
    }
  }
  out.lines = lineno;
  for (auto& [fp, d] : state) out.decisions.push_back(std::move(d));
  return out;
}

namespace {
/// The usual cause of EACCES in a container: a volume owned by another uid.
std::string permission_hint(int err, const std::string& path) {
  if (err != EACCES && err != EPERM && err != EROFS) return "";
  const auto dir = std::filesystem::path(path).parent_path().string();
  const auto uid = std::to_string(::geteuid());
  return " (the directory " + (dir.empty() ? std::string(".") : dir) + " must be writable by uid " + uid +
         "; for a bind mount: chown " + uid + " DIR)";
}
}  // namespace

bool DecisionJournal::open_append(std::string& error) {
  if (file_.open()) return true;
  const int err = errno;
  error = options_.path + ": cannot open decision journal: " + std::strerror(err) + permission_hint(err, options_.path);
  return false;
}

bool DecisionJournal::compact(const std::vector<Decision>& live, std::string& error) {
  std::lock_guard lock(mutex_);
  const std::string tmp = options_.path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    error = tmp + ": cannot create: " + std::strerror(err) + permission_hint(err, options_.path);
    return false;
  }
  std::string data;
  for (const auto& d : live) data += put_line(d);
  const bool ok = write_all(fd, data) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), options_.path.c_str()) != 0) {
    error = options_.path + ": compaction failed: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  fsync_dir(options_.path);
  last_sync_ = monotonic_s();
  return open_append(error);
}

bool DecisionJournal::append_line(const std::string& line) {
  std::lock_guard lock(mutex_);
  if (!file_.append(line)) return false;  // a torn line is cut off again
  switch (options_.fsync) {
    case FsyncPolicy::Always:
      return file_.sync();
    case FsyncPolicy::Interval: {
      const double now = monotonic_s();
      if (now - last_sync_ >= options_.fsync_interval_s) {
        last_sync_ = now;
        return file_.sync();
      }
      return true;
    }
    case FsyncPolicy::Never:
      return true;
  }
  return true;
}

bool DecisionJournal::append_put(const Decision& d) { return append_line(put_line(d)); }

bool DecisionJournal::append_remove(std::string_view key_fp, double ts) {
  json::object o;
  o["op"] = "remove";
  o["key_fp"] = key_fp;
  o["ts"] = ts;
  return append_line(to_json_text(o) + "\n");
}

bool DecisionJournal::needs_compaction() const {
  std::lock_guard lock(mutex_);
  return file_.size() > options_.compact_threshold_bytes;
}

std::uint64_t DecisionJournal::size_bytes() const {
  std::lock_guard lock(mutex_);
  return file_.size();
}

}  // namespace dg::gateway
