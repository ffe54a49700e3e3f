#include "detectors/features.hpp"

namespace dg::detectors {

Endpoint endpoint_from_path(std::string_view path) noexcept {
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/v1/chat/completions" || path == "/chat/completions") return Endpoint::ChatCompletions;
  if (path == "/v1/completions" || path == "/completions") return Endpoint::Completions;
  if (path == "/v1/responses" || path == "/responses") return Endpoint::Responses;
  if (path == "/v1/embeddings" || path == "/embeddings") return Endpoint::Embeddings;
  if (path == "/v1/messages" || path == "/messages") return Endpoint::Messages;
  if (path == "/v1/models" || path.starts_with("/v1/models/")) return Endpoint::Models;
  return Endpoint::Other;
}

std::string_view to_string(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::ChatCompletions: return "chat_completions";
    case Endpoint::Completions: return "completions";
    case Endpoint::Responses: return "responses";
    case Endpoint::Embeddings: return "embeddings";
    case Endpoint::Messages: return "messages";
    case Endpoint::Models: return "models";
    case Endpoint::Other: break;
  }
  return "other";
}

}  // namespace dg::detectors
