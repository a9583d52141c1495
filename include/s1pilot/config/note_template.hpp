#pragma once
// The text of a `note` action: literal text with `{{placeholder}}`s from a fixed, documented
// set, parsed and checked at load so that a run only substitutes values.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace s1pilot::config {

/// Every placeholder a note may use. Run-level ones have one value per run; threat-level ones
/// (per_threat) differ per threat, so a note that uses one is posted one threat at a time.
enum class placeholder {
    playbook,        ///< the playbook's name
    run,             ///< the run id, e.g. r-000123
    console,         ///< the console's name in the configuration
    mode,            ///< enforce | dry-run
    time,            ///< the run's start, RFC 3339 UTC
    matched,         ///< how many threats the run acts on
    threat_id,       ///< per threat: id
    threat_name,     ///< per threat: threatInfo.threatName
    classification,  ///< per threat: threatInfo.classification
    computer_name,   ///< per threat: agentRealtimeInfo.agentComputerName
    agent_id,        ///< per threat: agentRealtimeInfo.agentId
    site_id,         ///< per threat: agentRealtimeInfo.siteId
};

struct placeholder_spec {
    std::string_view name;  ///< as written between the braces
    placeholder id;
    bool per_threat;
    std::string_view description;
};

/// The placeholder table, in documentation order.
std::span<const placeholder_spec> placeholders() noexcept;

/// A parsed note text: literal pieces and placeholders in order.
class note_template {
public:
    using segment = std::variant<std::string, placeholder>;

    /// Parses `text`. `{{ name }}` (spaces allowed) must name a known placeholder; `{{` without
    /// `}}` is an error. On error returns nullopt and sets `error` to a message for the user.
    static std::optional<note_template> parse(std::string_view text, std::string& error);

    const std::string& text() const noexcept { return text_; }
    const std::vector<segment>& segments() const noexcept { return segments_; }
    /// True when a placeholder differs per threat.
    bool per_threat() const noexcept { return per_threat_; }

    /// The text with every placeholder replaced by `value(placeholder)`.
    std::string render(const std::function<std::string(placeholder)>& value) const;

    bool operator==(const note_template& other) const { return text_ == other.text_; }

private:
    std::string text_;
    std::vector<segment> segments_;
    bool per_threat_ = false;
};

}  // namespace s1pilot::config
