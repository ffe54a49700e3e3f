#include "gateway/net/openai_error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace dg::gateway {

std::string openai_error_body(std::string_view message, std::string_view type, std::string_view code,
                              std::string_view param) {
  boost::json::object err;
  err["message"] = message;
  err["type"] = type;
  if (!param.empty()) err["param"] = param;
  if (code.empty()) err["code"] = nullptr;
  else err["code"] = code;
  boost::json::object root;
  root["error"] = std::move(err);
  return boost::json::serialize(root);
}

std::string openai_error_sse(std::string_view message, std::string_view type, std::string_view code) {
  return "data: " + openai_error_body(message, type, code) + "\n\ndata: [DONE]\n\n";
}

}  // namespace dg::gateway
