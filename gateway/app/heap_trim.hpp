#pragma once
/// Returning memory to the system after large request bodies (issue #12.12:
/// 20 bodies of 8 MB kept 100-250 MB of RSS after they finished).
///  - configure_allocator(): blocks of 1 MB or more are mmap'ed and unmapped
///    when freed (glibc otherwise raises its mmap threshold to the largest
///    block freed, up to 32 MB, and keeps such bodies in the heap);
///  - HeapTrimmer: run periodically on the control thread, it calls
///    malloc_trim on its next three runs after a large body was read.
/// No-ops on a C library other than glibc.

#include <cstdint>

namespace dg::gateway {

struct ProxyStats;

/// Call once at start-up, before serving.
void configure_allocator();

/// Frees the heap's unused pages now (glibc malloc_trim).
void trim_heap();

class HeapTrimmer {
 public:
  explicit HeapTrimmer(const ProxyStats& stats) : stats_(&stats) {}
  void operator()();

 private:
  static constexpr int kTicks = 3;  ///< runs that trim after the last large body
  const ProxyStats* stats_;
  std::uint64_t seen_ = 0;
  int ticks_left_ = 0;
};

}  // namespace dg::gateway
