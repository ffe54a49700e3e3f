#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "gateway/net/openai_error.hpp"

using namespace dg::gateway;

TEST_CASE("proxy-made errors use the OpenAI shape", "[unit][errors]") {
  const auto v = boost::json::parse(openai_error_body("too \"big\"", "invalid_request_error", "request_too_large"));
  CHECK(v.at("error").at("message").as_string() == "too \"big\"");
  CHECK(v.at("error").at("type").as_string() == "invalid_request_error");
  CHECK(v.at("error").at("code").as_string() == "request_too_large");
  CHECK(boost::json::parse(openai_error_body("m", "t", "")).at("error").at("code").is_null());
  const auto sse = openai_error_sse("m", "t", "c");
  CHECK(sse.rfind("data: {\"error\":", 0) == 0);
  CHECK(sse.substr(sse.size() - 14) == "data: [DONE]\n\n");
}

#include "gateway/observability/access_log.hpp"

TEST_CASE("access lines name the key by fingerprint only, as text or JSON", "[unit][accesslog]") {
  AccessEntry e;
  e.key_fp = "fp:0123456789abcdef";
  e.client_ip = "203.0.113.7";
  e.method = "POST";
  e.path = "/v1/chat/completions";
  e.model = "gpt-4o";
  e.action = "allow";
  e.status = 200;
  e.prompt_tokens = 12;
  e.completion_tokens = 34;
  e.upstream_ms = 100;
  e.added_ms = 0.5;
  const auto json = boost::json::parse(AccessLog("json").format_line(e)).as_object();
  CHECK(json.at("key").as_string() == "fp:0123456789abcdef");
  CHECK(json.at("model").as_string() == "gpt-4o");
  CHECK(json.at("completion_tokens").as_int64() == 34);
  CHECK(json.at("added_ms").as_double() == 0.5);
  e.model = "evil\"model";  // client input is escaped
  CHECK(boost::json::parse(AccessLog("json").format_line(e)).at("model").as_string() == "evil\"model");
  const auto text = AccessLog("text").format_line(e);
  CHECK(text.find("fp:0123456789abcdef") != std::string::npos);
  CHECK(text.find("status=200") != std::string::npos);
  CHECK(text.find("tokens=12+34") != std::string::npos);
}

TEST_CASE("access lines: client input cannot forge a line or a field", "[unit][accesslog]") {
  AccessEntry e;
  e.key_fp = "fp:0123456789abcdef";
  e.client_ip = "203.0.113.7";
  e.method = "POST";
  e.path = "/v1/chat/completions";
  e.action = "allow";
  e.status = 403;
  e.model = "gpt-4o status=200\nfp:ffffffffffffffff 10.0.0.1 POST /v1/x model=m status=200 \"q\\";
  const auto text = AccessLog("text").format_line(e);
  CHECK(text.find('\n') == std::string::npos);
  int status_fields = 0;
  for (std::size_t start = 0; start <= text.size();) {
    const auto end = std::min(text.find(' ', start), text.size());
    status_fields += text.compare(start, 7, "status=") == 0;
    start = end + 1;
  }
  CHECK(status_fields == 1);  // only the real one
  CHECK(text.find(" status=403 ") != std::string::npos);
  CHECK(text.find(R"(model=gpt-4o\x20status=200\x0afp:ffffffffffffffff)") != std::string::npos);
  CHECK(text.find(R"(\x22q\x5c)") != std::string::npos);
  // A huge field is cut in both formats.
  const std::string huge(100000, 'm');  // AccessEntry holds views: the text must outlive it
  e.model = huge;
  CHECK(AccessLog("text").format_line(e).size() < 1000);
  CHECK(AccessLog("json").format_line(e).size() < 1000);
}
