// A boost::json::basic_parser handler that walks a threat page once, copying only the fields
// of threat_record. The handler tracks where it is with a small stack of frames; everything
// outside the wanted paths is a `skip` frame and costs one comparison per event.

#include "s1pilot/s1/page_parser.hpp"

#include "s1pilot/core/error.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <stdexcept>

namespace s1pilot::s1 {
namespace {

using boost::json::string_view;
using boost::system::error_code;

enum class frame : std::uint8_t {
    root,
    data,
    threat,
    realtime,
    threat_info,
    mitigations,
    mitigation,
    pagination,
    skip
};

/// What the value after the current key is for.
enum class slot : std::uint8_t {
    none,
    data,
    pagination,
    realtime,
    threat_info,
    mitigations,
    id,
    agent_id,
    account_id,
    site_id,
    group_id,
    network,
    os,
    created_at,
    updated_at,
    mitigation_state,
    incident,
    verdict,
    threat_name,
    classification,
    computer_name,
    agent_active,
    entry_action,
    entry_status,
    entry_last_update,
    next_cursor,
    total_items,
};

slot slot_for(frame where, std::string_view key) noexcept {
    switch (where) {
        case frame::root:
            if (key == "data") return slot::data;
            if (key == "pagination") return slot::pagination;
            return slot::none;
        case frame::threat:
            if (key == "id") return slot::id;
            if (key == "agentRealtimeInfo") return slot::realtime;
            if (key == "threatInfo") return slot::threat_info;
            if (key == "mitigationStatus") return slot::mitigations;
            return slot::none;
        case frame::realtime:
            if (key == "agentId") return slot::agent_id;
            if (key == "accountId") return slot::account_id;
            if (key == "siteId") return slot::site_id;
            if (key == "groupId") return slot::group_id;
            if (key == "agentNetworkStatus") return slot::network;
            if (key == "agentOsType") return slot::os;
            if (key == "agentComputerName") return slot::computer_name;
            if (key == "agentIsActive") return slot::agent_active;
            return slot::none;
        case frame::threat_info:
            if (key == "createdAt") return slot::created_at;
            if (key == "updatedAt") return slot::updated_at;
            if (key == "mitigationStatus") return slot::mitigation_state;
            if (key == "incidentStatus") return slot::incident;
            if (key == "analystVerdict") return slot::verdict;
            if (key == "threatName") return slot::threat_name;
            if (key == "classification") return slot::classification;
            return slot::none;
        case frame::mitigation:
            if (key == "action") return slot::entry_action;
            if (key == "status") return slot::entry_status;
            if (key == "lastUpdate") return slot::entry_last_update;
            return slot::none;
        case frame::pagination:
            if (key == "nextCursor") return slot::next_cursor;
            if (key == "totalItems") return slot::total_items;
            return slot::none;
        default: return slot::none;
    }
}

const char* slot_name(slot s) noexcept {
    switch (s) {
        case slot::data: return "data";
        case slot::pagination: return "pagination";
        case slot::realtime: return "agentRealtimeInfo";
        case slot::threat_info: return "threatInfo";
        case slot::mitigations: return "mitigationStatus";
        case slot::id: return "id";
        case slot::agent_id: return "agentRealtimeInfo.agentId";
        case slot::account_id: return "agentRealtimeInfo.accountId";
        case slot::site_id: return "agentRealtimeInfo.siteId";
        case slot::group_id: return "agentRealtimeInfo.groupId";
        case slot::network: return "agentRealtimeInfo.agentNetworkStatus";
        case slot::os: return "agentRealtimeInfo.agentOsType";
        case slot::created_at: return "threatInfo.createdAt";
        case slot::updated_at: return "threatInfo.updatedAt";
        case slot::mitigation_state: return "threatInfo.mitigationStatus";
        case slot::incident: return "threatInfo.incidentStatus";
        case slot::verdict: return "threatInfo.analystVerdict";
        case slot::threat_name: return "threatInfo.threatName";
        case slot::classification: return "threatInfo.classification";
        case slot::computer_name: return "agentRealtimeInfo.agentComputerName";
        case slot::agent_active: return "agentRealtimeInfo.agentIsActive";
        case slot::entry_action: return "mitigationStatus[].action";
        case slot::entry_status: return "mitigationStatus[].status";
        case slot::entry_last_update: return "mitigationStatus[].lastUpdate";
        case slot::next_cursor: return "pagination.nextCursor";
        case slot::total_items: return "pagination.totalItems";
        case slot::none: break;
    }
    return "value";
}

class page_handler {
public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    threat_page page;
    bool seen_data = false;
    std::string problem;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code& ec) {
        if (stack_.empty()) return push(frame::root);
        switch (top()) {
            case frame::skip: return push(frame::skip);
            case frame::data: current_ = {}; return push(frame::threat);
            case frame::mitigations: entry_ = {}; return push(frame::mitigation);
            default: break;
        }
        const slot s = take_slot();
        switch (s) {
            case slot::none: return push(frame::skip);
            case slot::pagination: return push(frame::pagination);
            case slot::realtime: return push(frame::realtime);
            case slot::threat_info: return push(frame::threat_info);
            default: return fail(ec, s, "an object");
        }
    }

    bool on_object_end(std::size_t, error_code& ec) {
        const frame ended = top();
        stack_.pop_back();
        if (ended == frame::threat) {
            if (current_.id == 0) return fail(ec, "data[" + std::to_string(index_) + "] has no id");
            page.threats.push_back(std::move(current_));
            ++index_;
        } else if (ended == frame::mitigation) {
            current_.mitigations.push_back(entry_);
        }
        return true;
    }

    bool on_array_begin(error_code& ec) {
        if (stack_.empty()) return fail(ec, "the page is not a JSON object");
        switch (top()) {
            case frame::skip: return push(frame::skip);
            case frame::data: return fail(ec, "data[" + std::to_string(index_) + "] is not an object");
            case frame::mitigations: return fail(ec, where() + "mitigationStatus has an entry that is not an object");
            default: break;
        }
        const slot s = take_slot();
        switch (s) {
            case slot::none: return push(frame::skip);
            case slot::data:
                seen_data = true;
                page.threats.reserve(1000);
                return push(frame::data);
            case slot::mitigations: return push(frame::mitigations);
            default: return fail(ec, s, "an array");
        }
    }

    bool on_array_end(std::size_t, error_code&) {
        stack_.pop_back();
        return true;
    }

    bool on_key_part(string_view s, std::size_t, error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }

    bool on_key(string_view s, std::size_t, error_code&) {
        std::string_view key(s.data(), s.size());
        if (!key_.empty()) {
            key_.append(s.data(), s.size());
            key = key_;
        }
        slot_ = slot_for(top(), key);
        key_.clear();
        return true;
    }

    bool on_string_part(string_view s, std::size_t, error_code& ec) {
        if (!scalar_allowed(ec)) return false;
        if (slot_ != slot::none) value_.append(s.data(), s.size());
        return true;
    }

    bool on_string(string_view s, std::size_t, error_code& ec) {
        if (!scalar_allowed(ec)) return false;
        const slot s_ = take_slot();
        if (s_ == slot::none) return true;
        std::string_view text(s.data(), s.size());
        if (!value_.empty()) {
            value_.append(s.data(), s.size());
            text = value_;
        }
        const bool ok = store(s_, text, ec);
        value_.clear();
        return ok;
    }

    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, string_view, error_code& ec) {
        return number(i >= 0, static_cast<std::uint64_t>(i), ec);
    }
    bool on_uint64(std::uint64_t u, string_view, error_code& ec) { return number(true, u, ec); }
    bool on_double(double, string_view, error_code& ec) { return wrong_scalar(ec, "a number"); }
    bool on_bool(bool b, error_code& ec) {
        if (slot_ == slot::agent_active) {
            if (!scalar_allowed(ec)) return false;
            take_slot();
            current_.agent_active = b;
            return true;
        }
        return wrong_scalar(ec, "a boolean");
    }

    bool on_null(error_code& ec) {
        if (!scalar_allowed(ec)) return false;
        take_slot();  // null: the field is absent
        return true;
    }

    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

private:
    frame top() const noexcept { return stack_.empty() ? frame::root : stack_.back(); }

    bool push(frame f) {
        stack_.push_back(f);
        slot_ = slot::none;
        return true;
    }

    slot take_slot() noexcept {
        const slot s = slot_;
        slot_ = slot::none;
        return s;
    }

    std::string where() const { return "data[" + std::to_string(index_) + "]."; }

    bool fail(error_code& ec, std::string message) {
        problem = std::move(message);
        ec = core::errc::bad_response;
        return false;
    }

    bool fail(error_code& ec, slot s, const char* got) {
        const bool in_threat =
            s != slot::data && s != slot::pagination && s != slot::next_cursor && s != slot::total_items;
        return fail(ec,
                    (in_threat ? where() : std::string()) + slot_name(s) + " is " + got + ", not the expected type");
    }

    /// A scalar directly inside the data or mitigationStatus array is a malformed page.
    bool scalar_allowed(error_code& ec) {
        if (stack_.empty()) return fail(ec, "the page is not a JSON object");
        if (top() == frame::data) return fail(ec, "data[" + std::to_string(index_) + "] is not an object");
        if (top() == frame::mitigations)
            return fail(ec, where() + "mitigationStatus has an entry that is not an object");
        return true;
    }

    bool wrong_scalar(error_code& ec, const char* got) {
        if (!scalar_allowed(ec)) return false;
        const slot s = take_slot();
        if (s == slot::none) return true;
        return fail(ec, s, got);
    }

    bool number(bool non_negative, std::uint64_t value, error_code& ec) {
        if (!scalar_allowed(ec)) return false;
        const slot s = take_slot();
        if (s == slot::none) return true;
        if (s == slot::total_items && non_negative && value <= INT64_MAX) {
            page.total_items = static_cast<std::int64_t>(value);
            return true;
        }
        return fail(ec, s, "a number");
    }

    bool store_id(object_id& target, slot s, std::string_view text, error_code& ec) {
        if (text.empty()) return true;  // "" is how some consoles write an absent group
        auto id = parse_object_id(text);
        if (!id)
            return fail(ec, where() + slot_name(s) + " is not a decimal id: '" + std::string(text.substr(0, 40)) + "'");
        target = *id;
        return true;
    }

    bool store_time(std::optional<core::timestamp>& target, slot s, std::string_view text, error_code& ec) {
        auto t = core::parse_timestamp(text);
        if (!t) return fail(ec, where() + slot_name(s) + " is not a time: '" + std::string(text.substr(0, 40)) + "'");
        target = *t;
        return true;
    }

    bool store(slot s, std::string_view text, error_code& ec) {
        switch (s) {
            case slot::id: return store_id(current_.id, s, text, ec);
            case slot::agent_id: return store_id(current_.agent_id, s, text, ec);
            case slot::account_id: return store_id(current_.account_id, s, text, ec);
            case slot::site_id: return store_id(current_.site_id, s, text, ec);
            case slot::group_id: return store_id(current_.group_id, s, text, ec);
            case slot::created_at: return store_time(current_.created_at, s, text, ec);
            case slot::updated_at: return store_time(current_.updated_at, s, text, ec);
            // Unknown enum values are kept as "not known": the API adds values over time.
            case slot::network: current_.network = parse_network_status(text); return true;
            case slot::os: current_.os = parse_os_type(text); return true;
            case slot::mitigation_state: current_.mitigation = parse_mitigation_state(text); return true;
            case slot::incident: current_.incident = parse_incident_status(text); return true;
            case slot::verdict: current_.verdict = parse_analyst_verdict(text); return true;
            case slot::threat_name: current_.threat_name = text; return true;
            case slot::classification: current_.classification = text; return true;
            case slot::computer_name: current_.computer_name = text; return true;
            // Some clients send booleans as text; anything else leaves the agent's state unknown.
            case slot::agent_active:
                if (text == "true" || text == "false") current_.agent_active = text == "true";
                return true;
            case slot::entry_action: entry_.action = parse_mitigation_action(text); return true;
            case slot::entry_status: entry_.status = parse_mitigation_result(text); return true;
            // An unreadable time only weakens reconciliation to counting entries: keep the page.
            case slot::entry_last_update: entry_.last_update = core::parse_timestamp(text); return true;
            case slot::next_cursor:
                if (!text.empty()) page.next_cursor = std::string(text);
                return true;
            default: return fail(ec, s, "a string");
        }
    }

    std::vector<frame> stack_;
    slot slot_ = slot::none;
    std::string key_;
    std::string value_;
    threat_record current_;
    mitigation_entry entry_;
    std::size_t index_ = 0;
};

}  // namespace

void throw_exception_from_error(const parse_error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

parse_result<threat_page> parse_threat_page(std::string_view body, bool require_data) {
    boost::json::parse_options options;
    options.max_depth = max_json_depth;
    boost::json::basic_parser<page_handler> parser(options);
    error_code ec;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
    if (ec) {
        if (!parser.handler().problem.empty()) return parse_error{"threat page: " + parser.handler().problem};
        if (ec == boost::json::error::too_deep)
            return parse_error{"threat page: JSON nested deeper than " + std::to_string(max_json_depth) +
                               " levels: refused"};
        return parse_error{"threat page: malformed JSON at byte " + std::to_string(used) + ": " + ec.message()};
    }
    if (used != body.size()) return parse_error{"threat page: unexpected data after the JSON document"};
    if (require_data && !parser.handler().seen_data) return parse_error{"threat page: no data array"};
    return std::move(parser.handler().page);
}

}  // namespace s1pilot::s1
