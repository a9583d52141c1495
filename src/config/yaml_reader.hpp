#pragma once
// Internal: walking a YAML document with yaml-cpp while collecting diagnostics. Shared by the
// playbook and configuration parsers so that every message has the same shape:
// `file:line:col: path: what was expected, not what was found`.

#include "s1pilot/core/diagnostic.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1pilot::config::detail {

/// Case-insensitive Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate nearest to `word`, or empty when none is close enough to be a misspelling
/// (the same rule as filter::nearest_key: at most max(2, length / 3) edits).
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);

/// `a, b, c`.
std::string join(std::span<const std::string_view> words);

/// How a found value reads in a message: `"text"` (shortened), `a list`, `a mapping`, `nothing`.
std::string describe(const YAML::Node& node);

/// Collects diagnostics for one file.
class reader {
public:
    reader(std::string file, std::vector<core::diagnostic>& out) : file_(std::move(file)), out_(out) {}

    void error(const YAML::Mark& at, std::string message) { add(core::severity::error, at, std::move(message)); }
    void warning(const YAML::Mark& at, std::string message) { add(core::severity::warning, at, std::move(message)); }
    void error(const YAML::Node& at, std::string message) { error(at.Mark(), std::move(message)); }
    /// An error about the file as a whole (no line).
    void file_error(std::string message);

    const std::string& file() const noexcept { return file_; }
    /// Errors added through this reader so far.
    int errors() const noexcept { return errors_; }

    /// `, not <describe(node)>`, the end of an "expected ..." message; nothing for a scalar while
    /// values are withheld (see withheld_values).
    std::string not_found(const YAML::Node& node) const;

private:
    friend class withheld_values;
    void add(core::severity level, const YAML::Mark& at, std::string message);
    std::string file_;
    std::vector<core::diagnostic>& out_;
    int errors_ = 0;
    bool withhold_values_ = false;
};

/// While one lives, messages from its reader do not echo scalar values. Used under `consoles`
/// and around secrets, where a value written in the wrong place may be a credential (a token
/// pasted as a console, a password in a URL) and must not reach a terminal or a log.
class withheld_values {
public:
    explicit withheld_values(reader& r) : reader_(r), before_(r.withhold_values_) { r.withhold_values_ = true; }
    ~withheld_values() { reader_.withhold_values_ = before_; }
    withheld_values(const withheld_values&) = delete;
    withheld_values& operator=(const withheld_values&) = delete;

private:
    reader& reader_;
    bool before_;
};

/// Parses `text` as exactly one YAML document, refusing documents nested deeper than
/// defaults::max_depth or with more than defaults::max_nodes nodes. Reports syntax errors with
/// yaml-cpp's position and message, and `empty_message` at 1:1 for an empty document.
std::optional<YAML::Node> parse_document(std::string_view text, reader& r, std::string_view empty_message);

/// One `key: value` of a mapping, with the key's node for its position.
struct entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
};

/// A mapping's entries in order. Non-scalar and duplicate keys are reported and left out.
class mapping {
public:
    /// `node` must be a map.
    mapping(reader& r, const YAML::Node& node, std::string_view path);

    const std::vector<entry>& entries() const noexcept { return entries_; }
    const entry* find(std::string_view key) const noexcept;
    YAML::Mark mark() const { return node_.Mark(); }

    /// Reports every key not in `known`: `unknown key "x" in <context>; did you mean "y"?` or
    /// `...; expected one of a, b`.
    void reject_unknown(reader& r, std::span<const std::string_view> known, std::string_view context) const;

private:
    YAML::Node node_;
    std::vector<entry> entries_;
};

/// `unknown <what> "x" in <context>` with the nearest of `known` as a suggestion, else the list.
std::string unknown_message(std::string_view what, std::string_view key, std::span<const std::string_view> known,
                            std::string_view context);

// Typed readers: each reports `path: expected ..., not <found>` at the node and returns nullopt
// when the value is not what is expected.
bool is_plain_scalar(const YAML::Node& node);
std::optional<std::string> read_string(reader& r, const YAML::Node& node, std::string_view path);
std::optional<bool> read_bool(reader& r, const YAML::Node& node, std::string_view path);
std::optional<std::int64_t> read_integer(reader& r, const YAML::Node& node, std::string_view path, std::int64_t min,
                                         std::int64_t max);
std::optional<double> read_positive_number(reader& r, const YAML::Node& node, std::string_view path);
/// A positive duration (`250ms`, `30s`, `5m`, `24h`, `7d`).
std::optional<std::chrono::milliseconds> read_duration(reader& r, const YAML::Node& node, std::string_view path);
std::optional<std::uint64_t> read_size(reader& r, const YAML::Node& node, std::string_view path);

/// One of a fixed set of words: `path: expected one of a, b, not "c"`.
template <typename E>
std::optional<E> read_choice(reader& r, const YAML::Node& node, std::string_view path,
                             std::span<const std::pair<std::string_view, E>> choices) {
    std::vector<std::string_view> names;
    for (const auto& [name, value] : choices) {
        if (node.IsScalar() && node.Scalar() == name) return value;
        names.push_back(name);
    }
    r.error(node, std::string(path) + ": expected one of " + join(names) + r.not_found(node));
    return std::nullopt;
}

}  // namespace s1pilot::config::detail
