// Classifying attempts: which outcome an answer is, and the message a person reads about it.

#include "s1pilot/s1/call.hpp"

namespace s1pilot::s1 {
namespace {

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

}  // namespace

std::string_view to_string(call_status s) noexcept {
    switch (s) {
        case call_status::success: return "success";
        case call_status::failed: return "failed";
        case call_status::reconcile_needed: return "reconcile_needed";
    }
    return "unknown";
}

classified classify(const net::result<net::response>& r, net::http_method method, std::string_view target,
                    core::timestamp now) {
    classified out;
    if (!r) {
        switch (r.error().kind) {
            case net::failure_kind::not_sent: out.outcome = policy::outcome::not_sent; break;
            case net::failure_kind::certificate: out.outcome = policy::outcome::certificate; break;
            case net::failure_kind::lost_after_send: out.outcome = policy::outcome::lost_after_send; break;
            case net::failure_kind::local_error: out.outcome = policy::outcome::local_error; break;
        }
        out.message = r.error().message;
        return out;
    }
    const unsigned status = r->status;
    if (status >= 200 && status < 300) return out;
    if (status == 429) {
        out.outcome = policy::outcome::throttled;
        if (!r->retry_after.empty()) out.retry_after = policy::parse_retry_after(r->retry_after, now);
    } else if (status >= 500 && status < 600) {
        out.outcome = policy::outcome::server_error;
    } else {
        out.outcome = policy::outcome::client_error;
    }
    out.api_errors = parse_api_errors(r->body);
    out.message =
        std::string(net::to_string(method)) + " " + std::string(path_of(target)) + ": HTTP " + std::to_string(status);
    if (status >= 300 && status < 400) out.message += " (redirects are not followed)";
    for (std::size_t i = 0; i < out.api_errors.size(); ++i) {
        out.message += i == 0 ? " " : "; ";
        out.message += to_string(out.api_errors[i]);
    }
    return out;
}

std::string redact(std::string text, std::string_view secret) {
    if (secret.empty()) return text;
    constexpr std::string_view replacement = "[redacted]";
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + replacement.size())) {
        text.replace(at, secret.size(), replacement);
    }
    return text;
}

}  // namespace s1pilot::s1
