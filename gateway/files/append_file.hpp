#pragma once
/// A file written by appending whole lines: the audit log, the decision
/// journal, the capture log and the service/access log files. An append is
/// written fully or not at all: a short write (a full disk, a file size
/// limit) is cut off again, so the next line starts a line of its own instead
/// of gluing onto half a record. Reopening by path follows a rotation.
/// Not thread-safe: the owner serialises its calls.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dg::gateway {

/// Writes all of `data` to `fd` (retrying short writes and EINTR). False on
/// an error, with errno set.
bool write_all(int fd, std::string_view data);

class AppendFile {
 public:
  AppendFile() = default;
  explicit AppendFile(std::string path, mode_t mode = 0600) : path_(std::move(path)), mode_(mode) {}
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  /// Opens (or reopens) the file by its path, creating it with the mode.
  /// False when it cannot be opened: errno says why, and the file stays
  /// closed (appends then try to open it again).
  bool open();
  void close();
  bool is_open() const { return fd_ >= 0; }

  /// Appends `data` (opening the file first when it is closed). False when
  /// the file cannot be opened or the write fails; a partly written `data`
  /// is truncated away (if even that fails, the file is closed).
  bool append(std::string_view data);
  /// fdatasync(2) of what was appended.
  bool sync();

  /// Bytes in the file: its size when opened plus what was appended since.
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mode_t mode_ = 0600;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace dg::gateway
