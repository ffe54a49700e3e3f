#include "gateway/files/append_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace dg::gateway {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

AppendFile::~AppendFile() { close(); }

bool AppendFile::open() {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode_);
  const int err = errno;
  close();
  if (fd < 0) {
    errno = err;
    return false;
  }
  fd_ = fd;
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

void AppendFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool AppendFile::append(std::string_view data) {
  if (fd_ < 0 && !open()) return false;
  if (write_all(fd_, data)) {
    size_ += data.size();
    return true;
  }
  const int err = errno;
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) close();
  errno = err;
  return false;
}

bool AppendFile::sync() { return fd_ >= 0 && ::fdatasync(fd_) == 0; }

}  // namespace dg::gateway
