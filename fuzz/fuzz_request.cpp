// libFuzzer target: a client's request bytes through what the proxy does
// before forwarding: the HTTP/1.1 head and body parser with the proxy's limits
// (Beast), identity resolution, hop-by-hop handling, feature extraction and
// prompt analysis. Any crash, sanitizer report or leak is a finding.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "detectors/prompt_analyzer.hpp"
#include "detectors/reasoning_lexicon.hpp"
#include "gateway/http/header_rules.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/request_features.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dg::detectors::ReasoningLexicon lexicon = dg::detectors::ReasoningLexicon::defaults();
  static const dg::detectors::PromptAnalyzer analyzer(lexicon);
  static const std::vector<std::string> key_headers{"authorization", "api-key", "x-api-key"};

  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (!parser.is_header_done()) return 0;
  auto& req = parser.get();
  const auto id = dg::gateway::resolve_identity(req, key_headers, "x-tenant");
  if (!id.key.empty()) (void)dg::gateway::key_fingerprint(id.key, "salt");
  const auto fwd = dg::gateway::resolve_forwarding("10.1.2.3", req["X-Forwarded-For"], req["X-Forwarded-Proto"], {});
  http::fields up = req.base();
  dg::gateway::strip_hop_by_hop(up);
  dg::gateway::strip_unlisted_credentials(up, key_headers);
  dg::gateway::apply_forwarding(up, fwd);
  if (!parser.is_done()) return 0;
  const std::string_view target = req.target();
  const auto extracted = dg::gateway::extract_request_features(target.substr(0, target.find('?')), req.body());
  if (!extracted.text.system.empty() || !extracted.text.last_user.empty()) (void)analyzer.analyze(extracted.text);
  return 0;
}
