// The daemon configuration file → config::daemon_config (DESIGN §2). Secrets are only located
// here ({file} or {env}); load.cpp reads them.
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

#include "playbook_parts.hpp"
#include "tables.hpp"

namespace s1pilot::config::detail {
namespace {

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& text) {
    std::filesystem::path p{text};
    return (p.is_absolute() ? p : base / p).lexically_normal();
}

std::optional<std::filesystem::path> read_path(reader& r, const YAML::Node& node, const std::string& path,
                                               const std::filesystem::path& base) {
    auto s = read_string(r, node, path);
    if (!s) return std::nullopt;
    if (s->empty()) {
        r.error(node, path + ": expected a path, not an empty string");
        return std::nullopt;
    }
    return resolve(base, *s);
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// Never describe() a secret's node: a value written inline is the secret itself.
std::optional<secret_source> read_secret_source(reader& r, const YAML::Node& node, const std::string& path,
                                                const std::filesystem::path& base) {
    withheld_values withheld(r);
    if (node.IsScalar()) {
        r.error(node, path + " must not be written inline: use {file: PATH} or {env: NAME}");
        return std::nullopt;
    }
    if (!node.IsMap()) {
        r.error(node, path + ": expected {file: PATH} or {env: NAME}");
        return std::nullopt;
    }
    mapping fields(r, node, path);
    // Not reject_unknown: it echoes the key, and `token: {eyJ...}` is a mapping whose only key is
    // the token.
    for (const entry& e : fields.entries())
        if (std::find(secret_keys.begin(), secret_keys.end(), e.key) == secret_keys.end())
            r.error(e.key_node, path + ": unknown key (not shown); expected {file: PATH} or {env: NAME}");
    const entry* file = fields.find("file");
    const entry* env = fields.find("env");
    if (file != nullptr && env != nullptr) {
        r.error(node, path + ": give either file or env, not both");
        return std::nullopt;
    }
    if (file != nullptr) {
        if (auto p = read_path(r, file->value, path + ".file", base)) return secret_file{*p};
        return std::nullopt;
    }
    if (env != nullptr) {
        if (env->value.IsScalar() && valid_env_name(env->value.Scalar())) return secret_env{env->value.Scalar()};
        r.error(env->value, path + ".env: expected an environment variable's name (letters, digits and _)");
        return std::nullopt;
    }
    if (fields.entries().empty()) r.error(node, path + ": expected {file: PATH} or {env: NAME}");
    return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Never echoes the URL: it may hold a password (user:pass@) or a token (?token=...).
void parse_url(reader& r, const YAML::Node& node, const std::string& path, console_config& out) {
    auto text = read_string(r, node, path);
    if (!text) return;
    auto parsed = boost::urls::parse_uri(*text);
    const std::string expected = path + ": expected https://HOST[:PORT]";
    if (!parsed) {
        r.error(node, expected);
        return;
    }
    const boost::urls::url_view& u = *parsed;
    if (u.has_userinfo()) {
        r.error(node, path + ": must not contain user credentials (the token authenticates)");
        return;
    }
    if (u.has_query() || u.has_fragment()) {
        r.error(node, path + ": must not contain a query or fragment");
        return;
    }
    if (u.scheme() != "https") {
        r.error(node, path + ": must use https (the token must not travel in clear text)");
        return;
    }
    if (u.host().empty()) {
        r.error(node, expected);
        return;
    }
    if (!u.path().empty() && u.path() != "/") {
        r.error(node, path + ": must not contain a path (s1pilot adds /web/api/v2.1): expected https://HOST[:PORT]");
        return;
    }
    out.host = u.host_address();
    out.port = 443;
    if (u.has_port()) {
        auto port = parse_port(u.port());
        if (!port || *port == 0) {
            r.error(node, path + ": the port must be a number from 1 to 65535");
            return;
        }
        out.port = *port;
    }
    out.url = "https://" + std::string(u.encoded_host()) + (u.has_port() ? ":" + std::string(u.port()) : "");
}

// Never echoes the URL, for the same reasons as parse_url.
void parse_proxy(reader& r, const YAML::Node& node, const std::string& path, console_config& out) {
    auto text = read_string(r, node, path);
    if (!text) return;
    auto parsed = boost::urls::parse_uri(*text);
    if (parsed && parsed->has_userinfo()) {
        // Credentials in the URL would be a secret written inline.
        r.error(node, path + ": proxy credentials are not supported (they would be a secret written inline)");
        return;
    }
    if (parsed && (parsed->has_query() || parsed->has_fragment())) {
        r.error(node, path + ": must not contain a query or fragment");
        return;
    }
    const std::string expected = path + ": expected http://HOST:PORT";
    if (!parsed || parsed->scheme() != "http" || parsed->host().empty() || !parsed->has_port() ||
        (!parsed->path().empty() && parsed->path() != "/")) {
        r.error(node, expected);
        return;
    }
    auto port = parse_port(parsed->port());
    if (!port || *port == 0) {
        r.error(node, expected);
        return;
    }
    out.proxy = proxy_config{parsed->host_address(), *port};
}

bool is_postgres_uri(std::string_view text) {
    return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

// `state: postgresql://USER@HOST:PORT/DATABASE`, as libpq reads it (several hosts, a socket
// directory in `?host=` and other parameters included). Never echoed: it might hold a password,
// which is refused here (it belongs in state_password) and again by the ledger when it opens.
void parse_state_uri(reader& r, const YAML::Node& node, daemon_config& out) {
    const std::string_view text = node.Scalar();
    const auto rest = text.substr(text.find("://") + 3);
    const auto authority = rest.substr(0, rest.find_first_of("/?"));
    const auto at = authority.rfind('@');
    const bool password_in_userinfo =
        at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
    bool password_in_query = false;
    if (const auto query = rest.find('?'); query != std::string_view::npos) {
        for (auto params = rest.substr(query + 1); !params.empty();) {
            const auto end = params.find('&');
            const auto param = params.substr(0, end);
            if (param.substr(0, param.find('=')) == "password") password_in_query = true;
            params = end == std::string_view::npos ? std::string_view{} : params.substr(end + 1);
        }
    }
    if (password_in_userinfo || password_in_query) {
        r.error(node,
                "state: the PostgreSQL URI must not contain a password (it would be a secret written inline); "
                "give it in state_password: {file: PATH} or {env: NAME}");
        return;
    }
    if (text.find('#') != std::string_view::npos) {
        r.error(node, "state: the PostgreSQL URI must not contain a fragment (#...)");
        return;
    }
    out.state_uri = std::string(text);
    out.state.clear();
}

void parse_rate(reader& r, const entry& e, const std::string& path, rate_limit& out) {
    if (!e.value.IsMap()) {
        r.error(e.value, path + ": expected a mapping like {rate: 5, burst: 10}" + r.not_found(e.value));
        return;
    }
    mapping fields(r, e.value, path);
    fields.reject_unknown(r, rate_keys, path);
    if (const entry* rate = fields.find("rate")) {
        if (auto v = read_positive_number(r, rate->value, path + ".rate")) out.rate = *v;
    }
    if (const entry* burst = fields.find("burst")) {
        if (auto v = read_integer(r, burst->value, path + ".burst", 1, 10000)) out.burst = static_cast<int>(*v);
    }
}

std::optional<console_config> parse_console(reader& r, const entry& e, const std::filesystem::path& base,
                                            config_positions* positions) {
    const std::string path = "consoles." + e.key;
    if (!e.value.IsMap()) {
        r.error(e.value, path + ": expected a mapping with url and token" + r.not_found(e.value));
        return std::nullopt;
    }
    const int errors_before = r.errors();
    mapping fields(r, e.value, path);
    fields.reject_unknown(r, console_keys, path);
    console_config out;
    out.name = e.key;
    if (const entry* url = fields.find("url"))
        parse_url(r, url->value, path + ".url", out);
    else
        r.error(e.value, "missing required key \"url\" in " + path + " (https://your-console.sentinelone.net)");
    if (const entry* token = fields.find("token")) {
        if (positions != nullptr) positions->console_token[e.key] = token->value.Mark();
        if (auto source = read_secret_source(r, token->value, path + ".token", base)) out.token_source = *source;
    } else {
        r.error(e.value, "missing required key \"token\" in " + path + " ({file: PATH} or {env: NAME})");
    }
    if (const entry* ca = fields.find("ca_file")) {
        if (positions != nullptr) positions->console_ca[e.key] = ca->value.Mark();
        out.ca_file = read_path(r, ca->value, path + ".ca_file", base);
    }
    if (const entry* proxy = fields.find("proxy")) parse_proxy(r, proxy->value, path + ".proxy", out);
    if (const entry* limits = fields.find("rate_limits")) {
        if (!limits->value.IsMap()) {
            r.error(limits->value,
                    path + ".rate_limits: expected a mapping with read and write" + r.not_found(limits->value));
        } else {
            mapping kinds(r, limits->value, path + ".rate_limits");
            kinds.reject_unknown(r, rate_limits_keys, path + ".rate_limits");
            if (const entry* read = kinds.find("read")) parse_rate(r, *read, path + ".rate_limits.read", out.read);
            if (const entry* write = kinds.find("write")) parse_rate(r, *write, path + ".rate_limits.write", out.write);
        }
    }
    if (const entry* timeouts = fields.find("timeouts")) {
        if (!timeouts->value.IsMap()) {
            r.error(timeouts->value, path + ".timeouts: expected a mapping like {connect: 10s, request: 30s}" +
                                         r.not_found(timeouts->value));
        } else {
            mapping t(r, timeouts->value, path + ".timeouts");
            t.reject_unknown(r, timeouts_keys, path + ".timeouts");
            if (const entry* c = t.find("connect")) {
                if (auto d = read_duration(r, c->value, path + ".timeouts.connect")) out.connect_timeout = *d;
            }
            if (const entry* q = t.find("request")) {
                if (auto d = read_duration(r, q->value, path + ".timeouts.request")) out.request_timeout = *d;
            }
            if (const entry* a = t.find("call")) {
                if (auto d = read_duration(r, a->value, path + ".timeouts.call")) out.call_timeout = *d;
            }
        }
    }
    if (const entry* batch = fields.find("batch_size")) {
        if (auto n = read_integer(r, batch->value, path + ".batch_size", 1, defaults::max_batch_size))
            out.batch_size = static_cast<int>(*n);
    }
    if (r.errors() != errors_before) return std::nullopt;
    return out;
}

void parse_listen(reader& r, const YAML::Node& node, admin_config& out) {
    auto text = read_string(r, node, "admin.listen");
    if (!text) return;
    const std::size_t colon = text->rfind(':');
    std::string host = colon == std::string::npos ? "" : text->substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port = colon == std::string::npos ? std::nullopt : parse_port(std::string_view(*text).substr(colon + 1));
    if (host.empty() || !port) {
        r.error(node, "admin.listen: expected HOST:PORT like 127.0.0.1:9109, not " + describe(node));
        return;
    }
    out.host = host;
    out.port = *port;
}

// A name shared by the instances that compete for one lock: it becomes the lock's key, and a
// person reads it in logs and pg_locks, so plain characters only.
void parse_cluster(reader& r, const YAML::Node& node, daemon_config& out) {
    auto name = read_string(r, node, "cluster");
    if (!name) return;
    const bool plain = std::all_of(name->begin(), name->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
    });
    if (name->empty() || name->size() > defaults::max_cluster_name || !plain) {
        r.error(node, "cluster: expected a name of 1 to " + std::to_string(defaults::max_cluster_name) +
                          " letters, digits, '-', '_' or '.', not " + describe(node));
        return;
    }
    out.cluster = *name;
}

void parse_lease(reader& r, const mapping& fields, lease_config& out) {
    if (const entry* e = fields.find("retry")) {
        if (auto d = read_duration(r, e->value, "lease.retry")) {
            if (*d < defaults::min_lease_retry || *d > defaults::max_lease_retry)
                r.error(e->value, "lease.retry: " + e->value.Scalar() + " is out of range: from " +
                                      core::format_duration(defaults::min_lease_retry) + " to " +
                                      core::format_duration(defaults::max_lease_retry));
            else
                out.retry = *d;
        }
    }
    if (const entry* e = fields.find("grace")) {
        if (auto d = read_duration(r, e->value, "lease.grace")) {
            if (*d > defaults::max_lease_grace)
                r.error(e->value, "lease.grace: " + e->value.Scalar() + " is too long: the maximum is " +
                                      core::format_duration(defaults::max_lease_grace));
            else
                out.grace = *d;
        }
    }
}

template <std::size_t N>
std::optional<mapping> section(reader& r, const entry& e, const std::array<std::string_view, N>& keys,
                               std::string_view example) {
    if (!e.value.IsMap()) {
        r.error(e.value, e.key + ": expected a mapping like " + std::string(example) + r.not_found(e.value));
        return std::nullopt;
    }
    mapping fields(r, e.value, e.key);
    fields.reject_unknown(r, keys, e.key);
    return fields;
}

}  // namespace

std::optional<daemon_config> parse_config_text(reader& r, std::string_view text, const std::filesystem::path& base,
                                               config_positions* positions) {
    auto document = parse_document(text, r, "empty configuration: expected a mapping with consoles and playbooks");
    if (!document) return std::nullopt;
    if (!document->IsMap()) {
        r.error(*document, "expected a mapping with consoles and playbooks, not " + describe(*document));
        return std::nullopt;
    }
    mapping fields(r, *document, "");
    fields.reject_unknown(r, config_keys, "configuration");
    daemon_config out;

    if (const entry* consoles = fields.find("consoles"); consoles == nullptr) {
        r.error(fields.mark(), "missing required key \"consoles\" (at least one SentinelOne console)");
    } else {
        // No value under consoles is echoed: it may be a pasted token or a URL with a password.
        withheld_values withheld(r);
        if (!consoles->value.IsMap() || consoles->value.size() == 0) {
            r.error(consoles->value,
                    "consoles: expected a mapping of console names to {url, token}" + r.not_found(consoles->value));
        } else {
            mapping named(r, consoles->value, "consoles");
            for (const entry& e : named.entries())
                if (auto console = parse_console(r, e, base, positions))
                    out.consoles.emplace(e.key, std::move(*console));
        }
    }
    if (const entry* e = fields.find("playbooks")) {
        if (e->value.IsSequence()) {
            for (std::size_t i = 0; i < e->value.size(); ++i)
                if (auto p = read_path(r, e->value[i], "playbooks[" + std::to_string(i) + "]", base))
                    out.playbook_files.push_back(*p);
        } else if (auto p = read_path(r, e->value, "playbooks", base)) {
            out.playbook_dir = *p;
        }
    } else {
        out.playbook_dir = std::filesystem::path{defaults::playbooks};
    }
    if (const entry* e = fields.find("state")) {
        if (e->value.IsScalar() && is_postgres_uri(e->value.Scalar()))
            parse_state_uri(r, e->value, out);
        else if (auto p = read_path(r, e->value, "state", base))
            out.state = *p;
    }
    if (const entry* e = fields.find("state_password")) {
        if (positions != nullptr) positions->state_password = e->value.Mark();
        out.state_password_source = read_secret_source(r, e->value, "state_password", base);
        if (out.state_password_source && out.state_uri.empty())
            r.error(e->key_node,
                    "state_password: only a PostgreSQL ledger takes a password (state: postgresql://...); "
                    "remove it, or point state: at a PostgreSQL database");
    }
    if (const entry* e = fields.find("cluster")) parse_cluster(r, e->value, out);
    if (const entry* e = fields.find("lease")) {
        if (auto a = section(r, *e, lease_keys, "{retry: 2s, grace: 5s}")) parse_lease(r, *a, out.lease);
    }
    if (const entry* e = fields.find("audit")) {
        if (auto a = section(r, *e, audit_keys, "{path: /var/log/s1pilot/audit.jsonl}")) {
            if (const entry* p = a->find("path")) {
                if (auto v = read_path(r, p->value, "audit.path", base)) out.audit.path = *v;
            }
            if (const entry* s = a->find("rotate_size")) {
                if (auto v = read_size(r, s->value, "audit.rotate_size")) out.audit.rotate_size = *v;
            }
            if (const entry* k = a->find("keep")) {
                if (auto v = read_integer(r, k->value, "audit.keep", 1, 10000)) out.audit.keep = static_cast<int>(*v);
            }
            if (const entry* h = a->find("hmac_key")) {
                if (positions != nullptr) positions->hmac_key = h->value.Mark();
                out.audit.hmac_key_source = read_secret_source(r, h->value, "audit.hmac_key", base);
            }
        }
    }
    if (const entry* e = fields.find("admin")) {
        if (auto a = section(r, *e, admin_keys, "{listen: 127.0.0.1:9109}")) {
            if (const entry* l = a->find("listen")) parse_listen(r, l->value, out.admin);
            if (const entry* t = a->find("token")) {
                if (positions != nullptr) positions->admin_token = t->value.Mark();
                out.admin.token_source = read_secret_source(r, t->value, "admin.token", base);
            }
        }
    }
    if (const entry* e = fields.find("retry")) {
        if (auto a = section(r, *e, retry_keys, "{max_attempts: 5, base: 500ms, cap: 30s}")) {
            if (const entry* m = a->find("max_attempts")) {
                if (auto v = read_integer(r, m->value, "retry.max_attempts", 1, 100))
                    out.retry.max_attempts = static_cast<int>(*v);
            }
            if (const entry* b = a->find("base")) {
                if (auto v = read_duration(r, b->value, "retry.base")) out.retry.base = *v;
            }
            if (const entry* c = a->find("cap")) {
                if (auto v = read_duration(r, c->value, "retry.cap")) {
                    if (*v < out.retry.base)
                        r.error(c->value, "retry.cap: must not be shorter than retry.base");
                    else
                        out.retry.cap = *v;
                }
            }
        }
    }
    if (const entry* e = fields.find("log")) {
        if (auto a = section(r, *e, log_keys, "{level: info, format: json}")) {
            if (const entry* l = a->find("level")) {
                if (auto v = read_choice(r, l->value, "log.level", as_span(log_levels))) out.log.level = *v;
            }
            if (const entry* f = a->find("format")) {
                if (auto v = read_choice(r, f->value, "log.format", as_span(log_formats))) out.log.format = *v;
            }
        }
    }
    if (positions != nullptr) {
        positions->top = fields.mark();
        if (const entry* e = fields.find("playbooks")) positions->playbooks = e->value.Mark();
    }
    return out;
}

}  // namespace s1pilot::config::detail
