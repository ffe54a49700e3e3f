#include "gateway/app/heap_trim.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "gateway/http/proxy_stats.hpp"

namespace dg::gateway {

void configure_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(ProxyStats::kLargeBodyBytes));
#endif
}

void trim_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void HeapTrimmer::operator()() {
  const auto n = stats_->large_bodies.load(std::memory_order_relaxed);
  if (n != seen_) {
    seen_ = n;
    ticks_left_ = kTicks;  // the bodies may still be in flight: trim again after they end
  }
  if (ticks_left_ == 0) return;
  --ticks_left_;
  trim_heap();
}

}  // namespace dg::gateway
