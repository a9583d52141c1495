// Small bodies are parsed into a DOM with a depth limit: they are a few KiB at most, and
// tolerance of variations (title vs message, numbers as strings) reads more plainly that way.

#include "s1pilot/s1/responses.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace s1pilot::s1 {
namespace {

namespace json = boost::json;

// The body as a DOM. `what` names the answer in the error: `notes: JSON nested deeper than 64
// levels: refused`; any other failure is `what: not a JSON object`.
parse_result<json::value> parse_json(std::string_view body, std::string_view what) {
    json::parse_options options;
    options.max_depth = max_json_depth;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, {}, options);
    if (ec == json::error::too_deep)
        return parse_error{std::string(what) + ": JSON nested deeper than " + std::to_string(max_json_depth) +
                           " levels: refused"};
    if (ec || !v.is_object()) return parse_error{std::string(what) + ": not a JSON object"};
    return v;
}

std::string string_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v && v->is_string()) return std::string(v->get_string());
    return {};
}

std::vector<api_error> errors_in(const json::value& document) {
    std::vector<api_error> out;
    const json::object* root = document.if_object();
    const json::value* errors = root ? root->if_contains("errors") : nullptr;
    if (!errors || !errors->is_array()) return out;
    for (const json::value& entry : errors->get_array()) {
        const json::object* e = entry.if_object();
        if (!e) continue;
        api_error parsed;
        if (const json::value* code = e->if_contains("code")) {
            if (code->is_int64())
                parsed.code = code->get_int64();
            else if (code->is_uint64())
                parsed.code = static_cast<std::int64_t>(code->get_uint64());
            else if (code->is_string())
                parsed.code = std::atoll(code->get_string().c_str());
        }
        parsed.title = string_of(*e, "title");
        if (parsed.title.empty()) parsed.title = string_of(*e, "message");
        parsed.detail = string_of(*e, "detail");
        out.push_back(std::move(parsed));
    }
    return out;
}

std::optional<std::string> cursor_of(const json::object& root) {
    const json::value* pagination = root.if_contains("pagination");
    if (!pagination || !pagination->is_object()) return std::nullopt;
    std::string cursor = string_of(pagination->get_object(), "nextCursor");
    if (cursor.empty()) return std::nullopt;
    return cursor;
}

}  // namespace

std::string to_string(const api_error& e) {
    std::string out = e.title.empty() ? "error" : e.title;
    if (e.code != 0) out += " (" + std::to_string(e.code) + ")";
    if (!e.detail.empty()) out += ": " + e.detail;
    return out;
}

std::vector<api_error> parse_api_errors(std::string_view body) {
    auto document = parse_json(body, "errors");
    if (!document) return {};
    return errors_in(*document);
}

parse_result<action_response> parse_action_response(std::string_view body) {
    auto document = parse_json(body, "action response");
    if (!document) return document.error();
    action_response out;
    out.errors = errors_in(*document);
    const json::value* data = document->get_object().if_contains("data");
    if (!data || !data->is_object()) return parse_error{"action response: no data object"};
    const json::value* affected = data->get_object().if_contains("affected");
    if (!affected || !affected->is_number()) return parse_error{"action response: data.affected is not a number"};
    boost::system::error_code ec;
    out.affected = affected->to_number<std::int64_t>(ec);
    if (ec || out.affected < 0) return parse_error{"action response: data.affected is not a count"};
    const json::value* details = data->get_object().if_contains("details");
    if (details && details->is_array()) {
        for (const json::value& entry : details->get_array()) {
            const json::object* d = entry.if_object();
            if (!d) continue;
            action_detail detail{string_of(*d, "threatId"), string_of(*d, "result"), {}};
            if (const json::value* skipped = d->if_contains("skipped"); skipped && skipped->is_array()) {
                for (const json::value& s : skipped->get_array()) {
                    if (const json::object* so = s.if_object()) {
                        detail.skipped.push_back({string_of(*so, "action"), string_of(*so, "reason")});
                    }
                }
            }
            out.details.push_back(std::move(detail));
        }
    }
    return out;
}

parse_result<notes_page> parse_notes_page(std::string_view body) {
    auto document = parse_json(body, "notes");
    if (!document) return document.error();
    const json::object& root = document->get_object();
    const json::value* data = root.if_contains("data");
    if (!data || !data->is_array()) return parse_error{"notes: no data array"};
    notes_page out;
    for (const json::value& entry : data->get_array()) {
        const json::object* note = entry.if_object();
        if (!note) return parse_error{"notes: an entry is not an object"};
        // A note without its text cannot be compared: the threat's notes are unknown, not "".
        const json::value* text = note->if_contains("text");
        if (!text || !text->is_string()) return parse_error{"notes: an entry has no string text"};
        out.texts.emplace_back(text->get_string());
    }
    out.next_cursor = cursor_of(root);
    return out;
}

}  // namespace s1pilot::s1
