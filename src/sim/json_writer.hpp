#pragma once
// A streaming JSON writer: pages of 1,000 threats are written straight into the response body
// instead of building a boost::json tree first, which is what keeps a page within milliseconds.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace s1sim {

class json_writer {
public:
    explicit json_writer(std::string& out) : out_(out) {}

    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }

    /// Writes `"name":`; the next value call completes the member.
    json_writer& key(std::string_view name) {
        separate();
        quote(name);
        out_ += ':';
        after_key_ = true;
        return *this;
    }
    json_writer& string(std::string_view s) {
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
    /// A value already serialised as JSON.
    json_writer& raw(std::string_view json) {
        separate();
        out_ += json;
        return *this;
    }

    // Members in one call, for readability of the long threat layout.
    json_writer& member(std::string_view name, std::string_view s) { return key(name).string(s); }
    json_writer& member_null(std::string_view name) { return key(name).null(); }
    json_writer& member_bool(std::string_view name, bool b) { return key(name).boolean(b); }
    json_writer& member_number(std::string_view name, std::int64_t n) { return key(name).number(n); }

private:
    json_writer& open(char c) {
        separate();
        out_ += c;
        first_.push_back(true);
        return *this;
    }
    json_writer& close(char c) {
        out_ += c;
        first_.pop_back();
        return *this;
    }
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) out_ += ',';
            first_.back() = false;
        }
    }
    void quote(std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        out_ += '"';
        // Copy runs of plain characters at once; most values need no escaping at all.
        std::size_t run = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            auto u = static_cast<unsigned char>(s[i]);
            if (u >= 0x20 && s[i] != '"' && s[i] != '\\') continue;
            out_.append(s.data() + run, i - run);
            run = i + 1;
            switch (s[i]) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    out_ += "\\u00";
                    out_ += hex[u >> 4];
                    out_ += hex[u & 15];
            }
        }
        out_.append(s.data() + run, s.size() - run);
        out_ += '"';
    }

    std::string& out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

}  // namespace s1sim
