#pragma once
/// Strict reading of admin API request bodies and query strings: every
/// field is declared with its type, an unknown field is an error that names
/// it (with a did-you-mean among the declared ones), a field of the wrong
/// type is an error naming the expected type. The errors are 400 responses
/// in the OpenAI shape with `param` set to the field.

#include <boost/json/object.hpp>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/admin/admin_server.hpp"

namespace dg::gateway {

enum class FieldType { String, Number, Boolean };

struct FieldSpec {
  std::string_view name;
  FieldType type;
};

/// 400 invalid_request_error with `param` = field.
AdminResponse admin_bad_request(std::string_view message, std::string_view param = {});

/// The closest of `known` to `given` (edit distance at most 2, or one a
/// prefix of the other), empty when none is close.
std::string_view closest_name(std::string_view given, std::initializer_list<std::string_view> known);

/// Parses `body` as a JSON object whose members are all in `fields` with
/// their types (numbers finite). An empty body is an empty object when
/// `empty_ok`. Returns the object, or the 400 response in `error`.
std::optional<boost::json::object> parse_admin_body(std::string_view body, std::initializer_list<FieldSpec> fields,
                                                    bool empty_ok, AdminResponse& error);

/// A query string `a=1&b=x` (no percent-decoding: admin parameters are plain
/// words) whose names are all in `names`; a repeated name is an error.
std::optional<std::map<std::string, std::string>> parse_admin_query(std::string_view query,
                                                                    std::initializer_list<std::string_view> names,
                                                                    AdminResponse& error);

}  // namespace dg::gateway
