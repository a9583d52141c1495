#include "yaml_reader.hpp"

#include "s1pilot/config/defaults.hpp"
#include "s1pilot/core/time.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>
#include <sstream>

namespace s1pilot::config::detail {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string depth_message() {
    return "document nested deeper than " + std::to_string(defaults::max_depth) + " levels: refused";
}

// yaml-cpp recurses while parsing; a flow document like `[[[[...` is refused before it gets the
// chance. Counts `[` and `{` outside quotes and comments: over-counting is impossible for a real
// playbook and under-counting is caught by the tree walk after parsing.
std::optional<YAML::Mark> too_deep_flow(std::string_view text) {
    int depth = 0;
    int line = 0;
    int column = 0;
    char quote = 0;
    bool comment = false;
    char previous = '\n';
    for (std::size_t i = 0; i < text.size(); ++i, ++column) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            column = -1;
            comment = false;
            if (quote == '\'') quote = 0;  // an apostrophe in a plain scalar must not run on
            previous = c;
            continue;
        }
        if (comment) continue;
        if (quote != 0) {
            if (c == '\\' && quote == '"') {
                ++i;
                ++column;
            } else if (c == quote) {
                quote = 0;
            }
            previous = c;
            continue;
        }
        const bool at_token_start = std::isspace(static_cast<unsigned char>(previous)) || previous == '[' ||
                                    previous == '{' || previous == ',' || previous == ':';
        if ((c == '"' || c == '\'') && at_token_start) {
            quote = c;
        } else if (c == '#' && std::isspace(static_cast<unsigned char>(previous))) {
            comment = true;
        } else if (c == '[' || c == '{') {
            if (++depth > defaults::max_depth) {
                YAML::Mark mark;
                mark.line = line;
                mark.column = column;
                return mark;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
        previous = c;
    }
    return std::nullopt;
}

// yaml-cpp's messages ("illegal map value", "end of map not found") do not say that a tab in
// the indentation caused them, and the tab is invisible in most editors.
bool tab_in_indentation(std::string_view text, int line) {
    if (line < 0) return false;
    std::size_t start = 0;
    for (int i = 0; i < line; ++i) {
        start = text.find('\n', start);
        if (start == std::string_view::npos) return false;
        ++start;
    }
    for (std::size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
        if (text[i] == '\t') return true;
    return false;
}

std::string syntax_message(std::string_view text, const YAML::Exception& e) {
    std::string message = "invalid YAML: " + e.msg;
    if (tab_in_indentation(text, e.mark.line)) message += "; YAML indentation must use spaces, not tabs";
    return message;
}

// Where the documents of a stream begin, without building them. YAML::LoadAll cannot be used:
// on a token the parser cannot place at the top of a document (a stray `,`) it produces an empty
// document without consuming the token, and loops forever, allocating (yaml-cpp issue 1040, fixed
// after 0.8). Here a document that starts where the previous one started is that token.
class document_starts final : public YAML::EventHandler {
public:
    struct document {
        YAML::Mark start;                // its first token (`---` when there is one)
        std::optional<YAML::Mark> root;  // its root node: where a message about it points
    };
    std::vector<document> documents;

    void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, std::nullopt}); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& mark) {
        if (!documents.empty() && !documents.back().root) documents.back().root = mark;
    }
};

std::string unexpected_token_message(std::string_view text, const YAML::Mark& at) {
    const auto pos = static_cast<std::size_t>(at.pos);
    if (at.pos >= 0 && pos < text.size() && std::isgraph(static_cast<unsigned char>(text[pos])))
        return std::string("invalid YAML: unexpected \"") + text[pos] + "\" where a value should start";
    return "invalid YAML: unexpected token where a value should start";
}

// Depth and size of the parsed tree, aliases counted each time they are used (a chain of aliases
// expands exponentially). Stops descending at the limits, so it cannot recurse out of control.
struct tree_check {
    std::size_t nodes = 0;
    std::optional<YAML::Mark> too_deep;
    bool too_many = false;

    void walk(const YAML::Node& node, int depth) {
        if (too_deep || too_many) return;
        if (++nodes > defaults::max_nodes) {
            too_many = true;
            return;
        }
        if (depth > defaults::max_depth) {
            too_deep = node.Mark();
            return;
        }
        if (node.IsSequence()) {
            for (const auto& child : node) walk(child, depth + 1);
        } else if (node.IsMap()) {
            for (const auto& child : node) {
                walk(child.first, depth + 1);
                walk(child.second, depth + 1);
            }
        }
    }
};

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
    const std::size_t allowed = std::max<std::size_t>(2, word.size() / 3);
    std::string_view best;
    std::size_t best_distance = allowed + 1;
    for (std::string_view candidate : candidates) {
        const std::size_t d = edit_distance(word, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

std::string join(std::span<const std::string_view> words) {
    std::string out;
    for (std::string_view w : words) {
        if (!out.empty()) out += ", ";
        out += w;
    }
    return out;
}

std::string describe(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return "nothing";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    std::string text = node.Scalar();
    constexpr std::size_t shown = 40;
    if (text.size() > shown) text = text.substr(0, shown) + "...";
    return "\"" + text + "\"";
}

std::string reader::not_found(const YAML::Node& node) const {
    if (withhold_values_ && node.IsScalar()) return {};
    return ", not " + describe(node);
}

void reader::file_error(std::string message) {
    ++errors_;
    out_.push_back({core::severity::error, file_, 0, 0, std::move(message)});
}

void reader::add(core::severity level, const YAML::Mark& at, std::string message) {
    if (level == core::severity::error) ++errors_;
    // yaml-cpp marks are 0-based; a null mark (-1) means "somewhere in this file".
    const int line = at.line >= 0 ? at.line + 1 : 0;
    const int column = at.line >= 0 && at.column >= 0 ? at.column + 1 : 0;
    out_.push_back({level, file_, line, column, std::move(message)});
}

std::optional<YAML::Node> parse_document(std::string_view text, reader& r, std::string_view empty_message) {
    // The file loader refuses larger files before reading them; text handed over directly (tests,
    // tools) meets the same limit.
    if (text.size() > defaults::max_file_size) {
        r.file_error("file is larger than 1 MiB: refused");
        return std::nullopt;
    }
    if (auto mark = too_deep_flow(text)) {
        r.error(*mark, depth_message());
        return std::nullopt;
    }
    // At most two documents are looked at: a second one is refused whatever it holds.
    document_starts starts;
    YAML::Node root;
    try {
        std::istringstream stream{std::string(text)};
        YAML::Parser parser(stream);
        while (starts.documents.size() < 2 && parser.HandleNextDocument(starts)) {
        }
        const bool stuck =
            starts.documents.size() == 2 && starts.documents[1].start.pos == starts.documents[0].start.pos;
        if (stuck) {
            r.error(starts.documents[0].start, unexpected_token_message(text, starts.documents[0].start));
            return std::nullopt;
        }
        if (starts.documents.size() == 2) {
            r.error(starts.documents[1].root.value_or(starts.documents[1].start),
                    "a second YAML document: write one per file");
            return std::nullopt;
        }
        root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        // DeepRecursion is a ParserException too: the block-nesting case.
        r.error(e.mark, syntax_message(text, e));
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        r.error(e.mark, syntax_message(text, e));
        return std::nullopt;
    }
    YAML::Mark start;
    start.line = 0;
    start.column = 0;
    if (root.IsNull()) {
        r.error(start, std::string(empty_message));
        return std::nullopt;
    }
    tree_check check;
    check.walk(root, 1);
    if (check.too_deep) {
        r.error(*check.too_deep, depth_message());
        return std::nullopt;
    }
    if (check.too_many) {
        r.error(start, "document has more than " + std::to_string(defaults::max_nodes) +
                           " nodes (aliases counted where used): refused");
        return std::nullopt;
    }
    return root;
}

mapping::mapping(reader& r, const YAML::Node& node, std::string_view path) : node_(node) {
    for (const auto& item : node) {
        if (!item.first.IsScalar()) {
            r.error(item.first,
                    std::string(path.empty() ? "" : std::string(path) + ": ") + "a key must be a plain word");
            continue;
        }
        std::string key = item.first.Scalar();
        if (const entry* first = find(key)) {
            r.error(item.first, "duplicate key \"" + key + "\"" + (path.empty() ? "" : " in " + std::string(path)) +
                                    " (first at line " + std::to_string(first->key_node.Mark().line + 1) + ")");
            continue;
        }
        entries_.push_back({std::move(key), item.first, item.second});
    }
}

const entry* mapping::find(std::string_view key) const noexcept {
    for (const auto& e : entries_)
        if (e.key == key) return &e;
    return nullptr;
}

std::string unknown_message(std::string_view what, std::string_view key, std::span<const std::string_view> known,
                            std::string_view context) {
    std::string message = "unknown " + std::string(what) + " \"" + std::string(key) + "\" in " + std::string(context);
    std::string_view suggestion = nearest(key, known);
    if (!suggestion.empty()) return message + "; did you mean \"" + std::string(suggestion) + "\"?";
    return message + "; expected one of " + join(known);
}

void mapping::reject_unknown(reader& r, std::span<const std::string_view> known, std::string_view context) const {
    for (const auto& e : entries_)
        if (std::find(known.begin(), known.end(), e.key) == known.end())
            r.error(e.key_node, unknown_message("key", e.key, known, context));
}

bool is_plain_scalar(const YAML::Node& node) {
    // yaml-cpp tags plain scalars "?" and quoted ones "!": `"true"` is a string, not a boolean.
    return node.IsScalar() && node.Tag() == "?";
}

std::optional<std::string> read_string(reader& r, const YAML::Node& node, std::string_view path) {
    if (node.IsScalar()) return node.Scalar();
    r.error(node, std::string(path) + ": expected a string" + r.not_found(node));
    return std::nullopt;
}

std::optional<bool> read_bool(reader& r, const YAML::Node& node, std::string_view path) {
    if (is_plain_scalar(node)) {
        std::string v = node.Scalar();
        std::transform(v.begin(), v.end(), v.begin(), lower);
        if (v == "true") return true;
        if (v == "false") return false;
    }
    r.error(node, std::string(path) + ": expected true or false" + r.not_found(node));
    return std::nullopt;
}

std::optional<std::int64_t> read_integer(reader& r, const YAML::Node& node, std::string_view path, std::int64_t min,
                                         std::int64_t max) {
    if (is_plain_scalar(node)) {
        const std::string& text = node.Scalar();
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc{} && end == text.data() + text.size() && value >= min && value <= max) return value;
    }
    r.error(node, std::string(path) + ": expected a whole number from " + std::to_string(min) + " to " +
                      std::to_string(max) + r.not_found(node));
    return std::nullopt;
}

std::optional<double> read_positive_number(reader& r, const YAML::Node& node, std::string_view path) {
    if (is_plain_scalar(node)) {
        const std::string& text = node.Scalar();
        double value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc{} && end == text.data() + text.size() && std::isfinite(value) && value > 0) return value;
    }
    r.error(node, std::string(path) + ": expected a number greater than 0" + r.not_found(node));
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> read_duration(reader& r, const YAML::Node& node, std::string_view path) {
    if (node.IsScalar()) {
        auto d = core::parse_duration(node.Scalar());
        if (d && d->count() > 0) return *d;
    }
    r.error(node, std::string(path) + ": expected a duration like 30s, 5m, 24h" + r.not_found(node));
    return std::nullopt;
}

std::optional<std::uint64_t> read_size(reader& r, const YAML::Node& node, std::string_view path) {
    if (node.IsScalar()) {
        auto size = core::parse_size(node.Scalar());
        if (size && *size > 0) return *size;
    }
    r.error(node, std::string(path) + ": expected a size like 512KiB, 100MiB" + r.not_found(node));
    return std::nullopt;
}

}  // namespace s1pilot::config::detail
