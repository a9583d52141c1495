#pragma once
// Reconciliation as pure decisions (DESIGN.md §4, RELIABILITY.md 7 and 8): what effect an action
// leaves on a threat, whether a freshly read threat shows it, and what a ledger row stores so
// that the check works after a crash even if the playbook changed or is gone.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/filter/filter.hpp"
#include "s1pilot/s1/responses.hpp"
#include "s1pilot/s1/threat.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace s1pilot::engine {

/// The effect an action leaves on a threat, independent of the playbook that asked for it.
struct effect {
    enum class kind { mitigation, incident, verdict, note, isolate };
    kind what = kind::mitigation;
    s1::mitigation_action mitigation = s1::mitigation_action::kill;
    s1::incident_status incident = s1::incident_status::unresolved;
    std::optional<s1::analyst_verdict> verdict;  ///< incident (optional) and verdict (always set)
    std::string note_text;                       ///< the rendered text, for a note
    bool operator==(const effect&) const = default;
};

/// The effect of a playbook action; `note_text` is the text rendered for the row.
effect effect_of(const config::action& a, std::string note_text = {});

/// The effect named by a ledger key (`mitigate:kill`, `incident:in_progress:true_positive`,
/// `verdict:suspicious`, `note:<hash>` with the text from the row, `isolate:agents`): what
/// start-up reconciliation checks for rows of a playbook no longer loaded. nullopt for a key
/// this version does not know.
std::optional<effect> parse_effect(std::string_view ledger_key, std::string_view note_text);

/// What a threat showed of one mitigation when the intent to send it was written: how many
/// mitigationStatus[] entries for it, and the latest `lastUpdate` among them. Both come from the
/// console (its clock, its list), so comparing against them needs no clock of ours. Only an
/// entry beyond this baseline proves that *this* request took effect: an older quarantine,
/// since undone, must not pass for a new one.
struct mitigation_baseline {
    std::size_t entries = 0;
    std::optional<core::timestamp> latest;
    bool operator==(const mitigation_baseline&) const = default;
};

mitigation_baseline baseline_of(s1::mitigation_action action, const std::vector<s1::mitigation_entry>& entries);

/// The mitigationStatus[] entries for `action` beyond `baseline` (every one without it), in the
/// API's order: only these can be the request's own (a later position in the list, or a later
/// lastUpdate for a console that updates its one entry in place).
std::vector<const s1::mitigation_entry*> entries_since(s1::mitigation_action action, const s1::threat_record& threat,
                                                       const mitigation_baseline* baseline);

/// True when the threat, as read now, shows the effect: a mitigationStatus[] entry for the
/// mitigation that did not fail and is newer than `baseline` (when given: a later position in
/// the list, or a later lastUpdate for a console that updates its one entry in place);
/// incident status (and the verdict when one was asked) equal; the analyst verdict equal; the
/// note text among `notes` (the threat's note texts; must be given for a note); the agent
/// disconnected or disconnecting.
bool effect_present(const effect& e, const s1::threat_record& threat, const std::vector<std::string>* notes,
                    const mitigation_baseline* baseline = nullptr);

/// What a ledger row's `detail` holds (as a small JSON object): the console, the scope keys the
/// call carried, a note's rendered text, and for a mitigation the threat's baseline. Never a
/// secret.
struct row_detail {
    std::string console;
    filter::threat_filter scope;  ///< the carried scope keys of the call's filter
    std::string note_text;
    std::optional<mitigation_baseline> baseline;  ///< per threat; mitigations only
    bool operator==(const row_detail&) const = default;
};

std::string encode_detail(const row_detail& d);
/// encode_detail of a detail with `baseline`, from `encoded`, the encode_detail of the same detail
/// without one: a mitigation's rows share all but their baselines, so a batch encodes the rest once.
std::string with_baseline(std::string_view encoded, const mitigation_baseline& baseline);
/// nullopt when `text` is not a detail this version wrote.
std::optional<row_detail> decode_detail(std::string_view text);

/// The per-threat decision after a read: done (effect present), resend (absent) or unknown (the
/// threat was not found in the read; the row stays pending).
enum class reconcile_verdict { done, resend, unknown };

struct reconcile_split {
    std::vector<std::string> done;
    std::vector<std::string> resend;
    std::vector<std::string> unknown;
};

/// Baselines by threat id, for the threats of one mitigation batch.
using baseline_map = std::unordered_map<std::string, mitigation_baseline>;

/// Splits `threat_ids` by what `threats` (a fresh read) show. `notes_of(id)` gives the note
/// texts read for a threat (null when they could not be read: unknown); `baselines`, when
/// given, the mitigation baseline of each threat written with its intent.
reconcile_split split_by_effect(const effect& e, const std::vector<std::string>& threat_ids,
                                const std::vector<s1::threat_record>& threats,
                                const std::function<const std::vector<std::string>*(const std::string&)>& notes_of,
                                const baseline_map* baselines = nullptr);

}  // namespace s1pilot::engine
