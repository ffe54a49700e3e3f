#include <catch2/catch.hpp>

#include "detectors/features.hpp"

using dg::detectors::Endpoint;
using dg::detectors::endpoint_from_path;

TEST_CASE("endpoint_from_path recognises the OpenAI and Anthropic surfaces") {
  CHECK(endpoint_from_path("/v1/chat/completions") == Endpoint::ChatCompletions);
  CHECK(endpoint_from_path("/v1/chat/completions?x=1") == Endpoint::ChatCompletions);
  CHECK(endpoint_from_path("/v1/chat/completions/") == Endpoint::ChatCompletions);
  CHECK(endpoint_from_path("/v1/completions") == Endpoint::Completions);
  CHECK(endpoint_from_path("/v1/responses") == Endpoint::Responses);
  CHECK(endpoint_from_path("/v1/embeddings") == Endpoint::Embeddings);
  CHECK(endpoint_from_path("/v1/messages") == Endpoint::Messages);
  CHECK(endpoint_from_path("/v1/models/gpt-4o") == Endpoint::Models);
  CHECK(endpoint_from_path("/v1/files") == Endpoint::Other);
  CHECK(endpoint_from_path("") == Endpoint::Other);
}
