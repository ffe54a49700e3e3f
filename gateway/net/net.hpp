#pragma once
/// Namespace aliases and the project-wide completion token for gateway code
/// (the one header allowed to define them, STYLE.md).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dg::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

/// Every async call: `co_await op(..., kUse)` yields a tuple (error_code, ...).
inline constexpr auto kUse = net::as_tuple(net::use_awaitable);

}  // namespace dg::gateway
