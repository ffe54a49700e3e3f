#pragma once
/// Counters of the proxy's data path, shared by all workers (relaxed atomics,
/// read by a metrics exporter). Every degraded path has a counter here.

#include <atomic>
#include <cstdint>

namespace dg::gateway {

struct ProxyStats {
  using Counter = std::atomic<std::uint64_t>;
  static constexpr std::uint64_t kLargeBodyBytes = 1 << 20;
  Counter connections_accepted{0};
  Counter connections_active{0};  ///< gauge
  Counter requests{0};            ///< requests read completely from clients
  Counter responses_2xx{0};
  Counter responses_3xx{0};
  Counter responses_4xx{0};
  Counter responses_5xx{0};
  Counter rejected_by_policy{0};  ///< answered by the hooks (429/403...)
  Counter key_refused_on_head{0}; ///< of which answered on the head, the body unread (a blocked or throttled key)
  Counter upstream_errors{0};     ///< connect/TLS/read/write failures and timeouts
  Counter upstream_timeouts{0};
  Counter upstream_connects{0};   ///< new upstream connections
  Counter upstream_reused{0};     ///< requests sent on pooled connections
  Counter client_aborts{0};       ///< client went away mid-response
  Counter non_json_bodies{0};     ///< non-empty request bodies that were not JSON (forwarded untouched)
  Counter budget_cutoffs{0};      ///< streams ended at the output-token budget
  Counter bytes_from_clients{0};  ///< request bodies
  Counter bytes_to_clients{0};    ///< responses of exchanges: heads, bodies, framing
  Counter capture_dropped{0};     ///< capture records dropped because the writer's queue was full
  Counter hook_errors{0};         ///< hooks that threw (the request was served fail-open)
  Counter large_bodies{0};        ///< request bodies of kLargeBodyBytes or more (the control loop trims the heap after them)
  Counter head_refused{0};        ///< request heads refused by RFC 9112 checks (method, target, Host, Transfer-Encoding)

  void count_status(int status) noexcept {
    auto& c = status >= 500 ? responses_5xx : status >= 400 ? responses_4xx : status >= 300 ? responses_3xx : responses_2xx;
    c.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace dg::gateway
