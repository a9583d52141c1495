// The status's JSON: written by `GET /v1/status`, read back by `s1pilot status`. Times are
// RFC 3339 UTC, durations milliseconds, so that other tools read it as easily.

#include "s1pilot/engine/status.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace s1pilot::engine {
namespace {

namespace json = boost::json;

json::value time_or_null(const std::optional<core::timestamp>& t) {
    if (!t) return nullptr;
    return json::value(core::format_timestamp(*t));
}

json::object limiter_json(const limiter_status& l) {
    return {{"rate", l.configured_rate},
            {"burst", l.burst},
            {"current_rate", l.current_rate},
            {"paused_ms", l.paused_for.count()}};
}

json::object last_run_json(const last_run& r) {
    json::object o{{"run_id", r.run_id},
                   {"trigger", r.trigger},
                   {"outcome", r.outcome},
                   {"started", core::format_timestamp(r.started)},
                   {"ended", core::format_timestamp(r.ended)},
                   {"matched", r.matched},
                   {"acted", r.acted},
                   {"calls", r.calls},
                   {"failures", r.failures}};
    if (!r.error.empty()) o["error"] = r.error;
    return o;
}

// Readers: a missing or mistyped field is a wrong shape (nullopt), never a guess.
const json::value* field(const json::object& o, std::string_view key) {
    return o.if_contains(key);
}

std::optional<std::string> text(const json::object& o, std::string_view key) {
    const auto* v = field(o, key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

std::optional<double> number(const json::object& o, std::string_view key) {
    const auto* v = field(o, key);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
}

std::optional<core::timestamp> time_of(const json::object& o, std::string_view key) {
    const auto s = text(o, key);
    return s ? core::parse_timestamp(*s) : std::nullopt;
}

std::optional<limiter_status> read_limiter(const json::value* v) {
    if (v == nullptr || !v->is_object()) return std::nullopt;
    const auto& o = v->get_object();
    const auto rate = number(o, "rate"), burst = number(o, "burst"), now = number(o, "current_rate"),
               paused = number(o, "paused_ms");
    if (!rate || !burst || !now || !paused) return std::nullopt;
    return limiter_status{*rate, static_cast<int>(*burst), *now,
                          std::chrono::milliseconds(static_cast<std::int64_t>(*paused))};
}

std::optional<last_run> read_last(const json::object& o) {
    last_run r;
    auto id = text(o, "run_id"), trig = text(o, "trigger"), out = text(o, "outcome");
    auto started = time_of(o, "started"), ended = time_of(o, "ended");
    auto matched = number(o, "matched"), acted = number(o, "acted"), calls = number(o, "calls"),
         failures = number(o, "failures");
    if (!id || !trig || !out || !started || !ended || !matched || !acted || !calls || !failures) return std::nullopt;
    r = {*id,
         *trig,
         *out,
         *started,
         *ended,
         static_cast<std::size_t>(*matched),
         static_cast<std::size_t>(*acted),
         static_cast<std::size_t>(*calls),
         static_cast<std::size_t>(*failures),
         text(o, "error").value_or("")};
    return r;
}

std::optional<playbook_status> read_playbook(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    playbook_status p;
    auto name = text(o, "name"), mode = text(o, "mode"), console = text(o, "console");
    const auto* webhook = field(o, "webhook");
    const auto* running = field(o, "running");
    if (!name || !mode || !console || webhook == nullptr || !webhook->is_bool() || running == nullptr ||
        !running->is_bool())
        return std::nullopt;
    p.name = *name;
    p.mode = *mode;
    p.console = *console;
    p.webhook = webhook->get_bool();
    p.running = running->get_bool();
    if (auto every = number(o, "every_ms")) p.every = std::chrono::milliseconds(static_cast<std::int64_t>(*every));
    p.next_run = time_of(o, "next_run");
    p.runs = static_cast<std::size_t>(number(o, "runs").value_or(0));
    p.held_runs = static_cast<std::size_t>(number(o, "held_runs").value_or(0));
    p.failed_runs = static_cast<std::size_t>(number(o, "failed_runs").value_or(0));
    if (const auto* last = field(o, "last_run"); last != nullptr && last->is_object()) {
        p.last = read_last(last->get_object());
        if (!p.last) return std::nullopt;
    }
    return p;
}

std::optional<console_status> read_console(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    console_status c;
    auto name = text(o, "name"), url = text(o, "url");
    auto read = read_limiter(field(o, "read")), write = read_limiter(field(o, "write"));
    if (!name || !url || !read || !write) return std::nullopt;
    c.name = *name;
    c.url = *url;
    c.read = *read;
    c.write = *write;
    c.throttled = static_cast<std::uint64_t>(number(o, "throttled").value_or(0));
    c.last_error = text(o, "last_error").value_or("");
    c.last_error_at = time_of(o, "last_error_at");
    return c;
}

}  // namespace

json::value to_json(const engine_status& s) {
    json::array playbooks;
    for (const auto& p : s.playbooks) {
        json::object o{{"name", p.name},
                       {"mode", p.mode},
                       {"console", p.console},
                       {"webhook", p.webhook},
                       {"running", p.running},
                       {"runs", p.runs},
                       {"held_runs", p.held_runs},
                       {"failed_runs", p.failed_runs},
                       {"next_run", time_or_null(p.next_run)}};
        o["every_ms"] = p.every ? json::value(p.every->count()) : json::value(nullptr);
        o["last_run"] = p.last ? json::value(last_run_json(*p.last)) : json::value(nullptr);
        playbooks.emplace_back(std::move(o));
    }
    json::array consoles;
    for (const auto& c : s.consoles) {
        json::object o{{"name", c.name},
                       {"url", c.url},
                       {"read", limiter_json(c.read)},
                       {"write", limiter_json(c.write)},
                       {"throttled", c.throttled},
                       {"last_error", c.last_error},
                       {"last_error_at", time_or_null(c.last_error_at)}};
        consoles.emplace_back(std::move(o));
    }
    return json::object{{"ready", s.ready},
                        {"reason", s.reason},
                        {"role", s.role},
                        {"cluster", s.cluster},
                        {"generation", s.generation},
                        {"active_runs", s.active_runs},
                        {"playbooks", std::move(playbooks)},
                        {"consoles", std::move(consoles)}};
}

std::optional<engine_status> status_from_json(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    engine_status s;
    const auto* ready = field(o, "ready");
    const auto* playbooks = field(o, "playbooks");
    const auto* consoles = field(o, "consoles");
    if (ready == nullptr || !ready->is_bool() || playbooks == nullptr || !playbooks->is_array() ||
        consoles == nullptr || !consoles->is_array())
        return std::nullopt;
    s.ready = ready->get_bool();
    s.reason = text(o, "reason").value_or("");
    s.role = text(o, "role").value_or("active");
    s.cluster = text(o, "cluster").value_or("");
    s.generation = static_cast<std::uint64_t>(number(o, "generation").value_or(0));
    s.active_runs = static_cast<std::size_t>(number(o, "active_runs").value_or(0));
    for (const auto& p : playbooks->get_array()) {
        auto read = read_playbook(p);
        if (!read) return std::nullopt;
        s.playbooks.push_back(std::move(*read));
    }
    for (const auto& c : consoles->get_array()) {
        auto read = read_console(c);
        if (!read) return std::nullopt;
        s.consoles.push_back(std::move(*read));
    }
    return s;
}

}  // namespace s1pilot::engine
