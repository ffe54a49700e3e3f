#pragma once
/// One client connection: read requests (keep-alive), identify the key,
/// extract request features, ask the hooks, forward through the worker's
/// upstream pool and relay the response as it arrives, then report the
/// exchange. Runs entirely on its worker's io_context.
///
/// The pieces: client_connection.hpp (the connection loop), exchange.hpp
/// (one request), response_relay.hpp (the upstream response), local_reply.hpp
/// (replies the proxy writes itself).

#include "gateway/http/worker_context.hpp"
#include "gateway/net/net.hpp"

namespace dg::gateway {

/// Serves one accepted client connection until it closes.
net::awaitable<void> run_session(WorkerContext& ctx, tcp::socket socket);

}  // namespace dg::gateway
