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

namespace {

// Selects a page of the matches that follow `mark` in the order `before` and counts every match
// (unless the count is known), leaving the page ordered.
class page_selector {
public:
    page_selector(const threat_store& store, const store_filter& filter, const cursor& position, bool after_cursor,
                  std::size_t wanted)
        : store_(store), filter_(filter), position_(position), after_cursor_(after_cursor), wanted_(wanted) {}

    bool before(const entry& a, const entry& b) const {
        if (a.key != b.key) return position_.descending ? a.key > b.key : a.key < b.key;
        return position_.descending ? a.id > b.id : a.id < b.id;
    }
    entry entry_of(std::uint32_t i) const {
        const threat_record& t = store_.threats[i];
        return {sort_key(t, position_.sort_by), t.id, i};
    }
    bool after_mark(const entry& e) const { return !after_cursor_ || before({position_.key, position_.id, 0}, e); }

    // Tests every threat (or every candidate), then orders what follows the mark: the general
    // case, and the only one for updatedAt, which actions change.
    std::int64_t scan(const std::optional<std::vector<std::uint32_t>>& candidates, std::vector<entry>& page) const {
        std::int64_t total = 0;
        auto visit = [&](std::uint32_t i) {
            if (!filter_.matches(i)) return;
            ++total;
            if (wanted_ == 0) return;
            if (entry e = entry_of(i); after_mark(e)) page.push_back(e);
        };
        if (candidates) {
            for (std::uint32_t i : *candidates) visit(i);
        } else {
            const auto count = static_cast<std::uint32_t>(store_.threats.size());
            for (std::uint32_t i = 0; i < count; ++i) visit(i);
        }
        const std::size_t keep = std::min(page.size(), wanted_);
        std::partial_sort(page.begin(), page.begin() + static_cast<std::ptrdiff_t>(keep), page.end(),
                          [this](const entry& a, const entry& b) { return before(a, b); });
        page.resize(keep);
        return total;
    }

    // Walks `order` (ascending by the sort key, then id) in the requested direction from the
    // mark, so the page costs the threats it passes, not the whole store. Without a known total
    // the walk covers every threat and counts; with one, it stops once the page is full.
    std::int64_t walk(const std::vector<std::uint32_t>& order, std::optional<std::int64_t> known_total,
                      std::vector<entry>& page) const {
        auto begin = order.begin(), end = order.end();
        const bool counting = !known_total;
        if (!counting && after_cursor_) {
            // Ascending: the first threat after the mark; descending: the first one before it.
            const entry mark{position_.key, position_.id, 0};
            auto ascending_before = [](const entry& a, const entry& b) {
                return a.key != b.key ? a.key < b.key : a.id < b.id;
            };
            if (position_.descending)
                end = std::lower_bound(order.begin(), order.end(), mark, [&](std::uint32_t i, const entry& m) {
                    return ascending_before(entry_of(i), m);
                });
            else
                begin = std::upper_bound(order.begin(), order.end(), mark, [&](const entry& m, std::uint32_t i) {
                    return ascending_before(m, entry_of(i));
                });
        }
        std::int64_t total = 0;
        auto visit = [&](std::uint32_t i) {
            if (!filter_.matches(i)) return true;
            ++total;
            if (page.size() < wanted_) {
                if (entry e = entry_of(i); after_mark(e)) page.push_back(e);
            }
            return counting || page.size() < wanted_;
        };
        if (position_.descending) {
            for (auto it = end; it != begin;)
                if (!visit(*--it)) break;
        } else {
            for (auto it = begin; it != end; ++it)
                if (!visit(*it)) break;
        }
        return counting ? total : *known_total;
    }

private:
    const threat_store& store_;
    const store_filter& filter_;
    const cursor& position_;
    bool after_cursor_;
    std::size_t wanted_;  // matches to keep, after the mark: skip + limit + 1 (0 for countOnly)
};

}  // namespace

listing_result list_threats(const threat_store& store, const s1pilot::filter::parsed_query& query,
                            match_count_memo* memo, std::uint64_t generation) {
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
    const auto skip = after_cursor ? 0 : static_cast<std::size_t>(std::max<std::int64_t>(0, params.skip));
    const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(1, params.limit));
    // +1: is there a next page?
    page_selector select(store, filter, position, after_cursor, params.count_only ? 0 : skip + limit + 1);
    std::optional<std::int64_t> known_total;
    if (memo != nullptr && memo->total >= 0 && memo->generation == generation && memo->filter == query.filter)
        known_total = memo->total;
    std::vector<entry> page;
    std::int64_t total = 0;
    auto candidates = filter.candidates();
    if (known_total && params.count_only)
        total = *known_total;
    else if (candidates || position.sort_by == "updatedAt")
        total = select.scan(candidates, page);
    else
        total = select.walk(position.sort_by == "createdAt" ? store.by_created_at() : store.by_id(), known_total, page);
    if (memo != nullptr && !known_total) *memo = {query.filter, generation, total};

    const bool more = page.size() > skip + limit;
    page.erase(page.begin(), page.begin() + static_cast<std::ptrdiff_t>(std::min(skip, page.size())));
    if (page.size() > limit) page.resize(limit);

    result.body.reserve(page.size() * 4096 + 128);
    json_writer out(result.body);
    out.begin_object().key("data").begin_array();
    for (const auto& e : page) write_threat(out, store, e.index);
    out.end_array().key("pagination").begin_object();
    if (more && !page.empty())
        out.member("nextCursor",
                   encode_cursor({position.sort_by, position.descending, page.back().key, page.back().id}));
    else
        out.member_null("nextCursor");
    out.member_number("totalItems", total).end_object().end_object();
    return result;
}

}  // namespace s1sim
