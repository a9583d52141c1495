#pragma once
// The small answers of the API: error bodies, action results, notes. Asio-free.

#include "s1pilot/s1/page_parser.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::s1 {

/// One entry of `errors[]`: `{"code":4000010,"title":"Validation Error","detail":"..."}`.
/// Some clients model `message` instead of `title`; both are read into `title`.
struct api_error {
    std::int64_t code = 0;
    std::string title;
    std::string detail;
    bool operator==(const api_error&) const = default;
};

/// `Validation Error (4000010): detail` - the parts that are present.
std::string to_string(const api_error& e);

/// The `errors[]` of any body; empty when there are none or the body is not JSON (an error
/// page from a proxy is not the API's fault to describe).
std::vector<api_error> parse_api_errors(std::string_view body);

struct skipped_action {
    std::string action;
    std::string reason;  ///< e.g. `not_supported`
    bool operator==(const skipped_action&) const = default;
};

/// One entry of an action's `data.details[]`.
struct action_detail {
    std::string threat_id;
    std::string result;                   ///< incident/verdict updates: `updated`, `not_changed`, `already_set`, ...
    std::vector<skipped_action> skipped;  ///< mitigations the agent's platform does not support
    bool operator==(const action_detail&) const = default;
};

/// The answer to an action POST.
struct action_response {
    std::int64_t affected = 0;
    std::vector<action_detail> details;
    std::vector<api_error> errors;  ///< a 200 may carry errors too
};

/// Parses `{"data":{"affected":N,"details":[...]},"errors":[...]}`; `affected` is required.
parse_result<action_response> parse_action_response(std::string_view body);

/// One page of GET /threats/{id}/notes.
struct notes_page {
    std::vector<std::string> texts;
    std::optional<std::string> next_cursor;
};

/// Parses `{"data":[{"text":...},...],"pagination":{"nextCursor":...}}`.
parse_result<notes_page> parse_notes_page(std::string_view body);

}  // namespace s1pilot::s1
