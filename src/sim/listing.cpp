#include "listing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "json_writer.hpp"
#include "store_filter.hpp"
#include "threat_json.hpp"

namespace s1sim {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::int64_t sort_key(const threat_record& t, std::string_view sort_by) {
    if (sort_by == "createdAt") return t.created_at;
    if (sort_by == "updatedAt") return t.updated_at;
    return static_cast<std::int64_t>(t.id);  // ids are below 2^63
}

struct entry {
    std::int64_t key;
    std::uint64_t id;
    std::uint32_t index;
};

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        buffer = buffer << 8 | c;
        bits += 8;
        while (bits >= 6) out += alphabet[buffer >> (bits -= 6) & 63];
    }
    if (bits > 0) out += alphabet[buffer << (6 - bits) & 63];
    while (out.size() % 4 != 0) out += '=';
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        auto pos = alphabet.find(c);
        if (pos == std::string_view::npos) return std::nullopt;
        buffer = buffer << 6 | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) out += static_cast<char>(buffer >> (bits -= 8) & 255);
    }
    return out;
}

std::string encode_cursor(const cursor& c) {
    return base64_encode(fmt::format("v1:{}:{}:{}:{}", c.sort_by, c.descending ? "desc" : "asc", c.key, c.id));
}

std::optional<cursor> decode_cursor(std::string_view text) {
    auto plain = base64_decode(text);
    if (!plain) return std::nullopt;
    std::vector<std::string_view> parts;
    std::string_view rest = *plain;
    for (std::size_t colon; (colon = rest.find(':')) != std::string_view::npos; rest.remove_prefix(colon + 1))
        parts.push_back(rest.substr(0, colon));
    parts.push_back(rest);
    if (parts.size() != 5 || parts[0] != "v1") return std::nullopt;
    cursor c{std::string(parts[1]), parts[2] == "desc", 0, 0};
    auto number = [](std::string_view s, auto& out) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size();
    };
    if (!number(parts[3], c.key) || !number(parts[4], c.id)) return std::nullopt;
    if (c.sort_by != "id" && c.sort_by != "createdAt" && c.sort_by != "updatedAt") return std::nullopt;
    return c;
}

listing_result list_threats(const threat_store& store, const s1pilot::filter::parsed_query& query) {
    const auto& params = query.params;
    listing_result result;
    cursor position{params.sort_by.empty() ? "id" : params.sort_by, params.sort_descending, 0, 0};
    if (position.sort_by != "id" && position.sort_by != "createdAt" && position.sort_by != "updatedAt") {
        return {false,
                "sortBy",
                fmt::format("sortBy must be one of id, createdAt, updatedAt (got '{}')", params.sort_by),
                {}};
    }
    bool after_cursor = false;
    if (!params.cursor.empty()) {
        auto decoded = decode_cursor(params.cursor);
        if (!decoded) return {false, "cursor", "cursor is not a cursor this console issued", {}};
        position = *decoded;  // the cursor fixes the order it was issued for
        after_cursor = true;
    }
    store_filter filter(store, query.filter);
    const bool descending = position.descending;
    auto before = [descending](const entry& a, const entry& b) {
        if (a.key != b.key) return descending ? a.key > b.key : a.key < b.key;
        return descending ? a.id > b.id : a.id < b.id;
    };
    const entry mark{position.key, position.id, 0};
    std::vector<entry> page;
    std::int64_t total = 0;
    auto visit = [&](std::uint32_t i) {
        if (!filter.matches(i)) return;
        ++total;
        if (params.count_only) return;
        const threat_record& t = store.threats[i];
        entry e{sort_key(t, position.sort_by), t.id, i};
        if (after_cursor && !before(mark, e)) return;
        page.push_back(e);
    };
    if (auto candidates = filter.candidates()) {
        for (std::uint32_t i : *candidates) visit(i);
    } else {
        const auto count = static_cast<std::uint32_t>(store.threats.size());
        for (std::uint32_t i = 0; i < count; ++i) visit(i);
    }
    const auto skip = after_cursor ? 0 : static_cast<std::size_t>(std::max<std::int64_t>(0, params.skip));
    const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(1, params.limit));
    const std::size_t wanted = std::min(page.size(), skip + limit + 1);  // +1: is there a next page?
    std::partial_sort(page.begin(), page.begin() + static_cast<std::ptrdiff_t>(wanted), page.end(), before);
    page.resize(wanted);
    const bool more = page.size() > skip + limit;
    page.erase(page.begin(), page.begin() + static_cast<std::ptrdiff_t>(std::min(skip, page.size())));
    if (page.size() > limit) page.resize(limit);

    result.body.reserve(page.size() * 4096 + 128);
    json_writer out(result.body);
    out.begin_object().key("data").begin_array();
    for (const auto& e : page) write_threat(out, store, e.index);
    out.end_array().key("pagination").begin_object();
    if (more && !page.empty())
        out.member("nextCursor", encode_cursor({position.sort_by, descending, page.back().key, page.back().id}));
    else
        out.member_null("nextCursor");
    out.member_number("totalItems", total).end_object().end_object();
    return result;
}

}  // namespace s1sim
