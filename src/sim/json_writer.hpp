#pragma once
// A streaming JSON writer: pages of 1,000 threats are written straight into the response body
// instead of building a boost::json tree first, which is what keeps a page within milliseconds.

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace s1sim {

class json_writer {
public:
    explicit json_writer(std::string& out) : out_(out) { first_.reserve(16); }

    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }

    /// Writes `"name":`; the next value call completes the member.
    json_writer& key(std::string_view name) {
        if (is_short_plain(name)) {
            char buffer[short_text + 4];
            out_.append(buffer, static_cast<std::size_t>(key_into(separator(buffer), name) - buffer));
        } else {
            separate();
            quote(name);
            out_ += ':';
        }
        after_key_ = true;
        return *this;
    }
    json_writer& string(std::string_view s) {
        if (is_short_plain(s)) {
            char buffer[short_text + 3];
            out_.append(buffer, static_cast<std::size_t>(quote_into(separator(buffer), s) - buffer));
            return *this;
        }
        separate();
        quote(s);
        return *this;
    }
    json_writer& null() { return raw("null"); }
    json_writer& boolean(bool b) { return raw(b ? "true" : "false"); }
    json_writer& number(std::int64_t n) {
        separate();
        char buffer[24];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
        out_.append(buffer, static_cast<std::size_t>(end - buffer));
        return *this;
    }
    /// A number written as a JSON string (`"1590000000000104729"`): the API writes ids so.
    json_writer& quoted_number(std::uint64_t n) {
        separate();
        char buffer[24];
        buffer[0] = '"';
        auto [end, ec] = std::to_chars(buffer + 1, buffer + sizeof buffer - 1, n);
        *end++ = '"';
        out_.append(buffer, static_cast<std::size_t>(end - buffer));
        return *this;
    }
    /// A value already serialised as JSON.
    json_writer& raw(std::string_view json) {
        separate();
        out_ += json;
        return *this;
    }

    // Members in one call, for readability of the long threat layout.
    // Each is one append when the name and value need no escaping (nearly always): a page of
    // threats is a quarter of a million members.
    json_writer& member(std::string_view name, std::string_view s) {
        if (!is_short_plain(name) || !is_short_plain(s)) return key(name).string(s);
        char buffer[2 * short_text + 8];
        out_.append(buffer, static_cast<std::size_t>(quote_into(key_into(separator(buffer), name), s) - buffer));
        return *this;
    }
    json_writer& member_null(std::string_view name) { return member_literal(name, "null"); }
    json_writer& member_bool(std::string_view name, bool b) { return member_literal(name, b ? "true" : "false"); }
    json_writer& member_number(std::string_view name, std::int64_t n) { return key(name).number(n); }

private:
    static constexpr std::size_t short_text = 120;  // longer text takes the general path

    static bool is_short_plain(std::string_view s) noexcept {
        return s.size() <= short_text && plain_prefix(s, 0) == s.size();
    }
    // Writes the separator the next value needs (`,` or nothing) at `p`; returns the new end.
    char* separator(char* p) {
        if (after_key_) {
            after_key_ = false;
            return p;
        }
        if (!first_.empty()) {
            if (first_.back() == 0) *p++ = ',';
            first_.back() = 0;
        }
        return p;
    }
    static char* quote_into(char* p, std::string_view plain) noexcept {
        *p++ = '"';
        std::memcpy(p, plain.data(), plain.size());
        p += plain.size();
        *p++ = '"';
        return p;
    }
    static char* key_into(char* p, std::string_view plain) noexcept {
        p = quote_into(p, plain);
        *p++ = ':';
        return p;
    }
    json_writer& member_literal(std::string_view name, std::string_view literal) {
        if (!is_short_plain(name)) return key(name).raw(literal);
        char buffer[short_text + 12];
        char* end = key_into(separator(buffer), name);
        std::memcpy(end, literal.data(), literal.size());
        out_.append(buffer, static_cast<std::size_t>(end + literal.size() - buffer));
        return *this;
    }

    json_writer& open(char c) {
        separate();
        out_ += c;
        first_.push_back(1);
        return *this;
    }
    json_writer& close(char c) {
        out_ += c;
        first_.pop_back();
        return *this;
    }
    void separate() {
        char buffer[1];
        if (separator(buffer) != buffer) out_ += ',';
    }
    // Copies runs of plain characters at once, testing eight bytes per step: almost no value of a
    // threat needs escaping, and a page is about 4 MB of them.
    void quote(std::string_view s) {
        out_ += '"';
        std::size_t run = 0;
        for (std::size_t i = 0;;) {
            i = plain_prefix(s, i);
            if (i == s.size()) break;
            out_.append(s.data() + run, i - run);
            escape(s[i]);
            run = ++i;
        }
        out_.append(s.data() + run, s.size() - run);
        out_ += '"';
    }
    // The index of the first character at or after `i` that JSON must escape, or s.size().
    static std::size_t plain_prefix(std::string_view s, std::size_t i) noexcept {
        constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, s.data() + i, 8);
            // A byte is flagged when it is below 0x20, or equal to '"' or '\\' (the classic
            // "has a zero byte" test on word ^ c); bytes >= 0x80 are never flagged.
            const std::uint64_t below_space = (word - ones * 0x20) & ~word;
            const std::uint64_t quote_bytes = word ^ (ones * '"'), slash_bytes = word ^ (ones * '\\');
            const std::uint64_t flagged = (below_space | ((quote_bytes - ones) & ~quote_bytes) |
                                           ((slash_bytes - ones) & ~slash_bytes)) & highs;
            if (flagged != 0) break;
        }
        while (i < s.size() && !needs_escape(s[i])) ++i;
        return i;
    }
    static bool needs_escape(char c) noexcept {
        return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
    }
    void escape(char c) {
        static constexpr char hex[] = "0123456789abcdef";
        switch (c) {
            case '"': out_ += "\\\""; break;
            case '\\': out_ += "\\\\"; break;
            case '\n': out_ += "\\n"; break;
            case '\r': out_ += "\\r"; break;
            case '\t': out_ += "\\t"; break;
            default: {
                const auto u = static_cast<unsigned char>(c);
                const char code[] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
                out_.append(code, sizeof code);
            }
        }
    }

    std::string& out_;
    std::vector<char> first_;  // per open object or array: no member written yet
    bool after_key_ = false;
};

}  // namespace s1sim
