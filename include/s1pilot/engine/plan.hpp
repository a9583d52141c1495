#pragma once
// The pure decisions of a run (DESIGN.md §4): what the ledger names an action, the blast-radius
// limit, which threats are left, how they are cut into calls and what each call sends. No I/O and
// no Asio: the async driver asks these functions and does what they say, and a dry run or
// `s1pilot plan` prints the very requests they build.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/filter/filter.hpp"
#include "s1pilot/s1/requests.hpp"
#include "s1pilot/s1/threat.hpp"
#include "s1pilot/state/ledger.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::engine {

/// The values of per-threat note placeholders beyond the ids a call needs, kept only when a note
/// of the playbook uses them.
struct threat_texts {
    s1::object_id site_id = 0;
    std::string threat_name;
    std::string classification;
    std::string computer_name;
    bool operator==(const threat_texts&) const = default;
};

/// What a run keeps of one matched threat (PERFORMANCE.md B6: a resolve may hold hundreds of
/// thousands): ids as numbers, the creation time, and the texts only when a note needs them and
/// the threat has any: 40 bytes. (A mitigation's baselines are kept apart, by the run: run.cpp.)
struct threat_ref {
    s1::object_id id = 0;
    s1::object_id agent_id = 0;
    core::timestamp created_at{};               ///< for time to contain (the epoch when the console omits it)
    std::shared_ptr<const threat_texts> texts;  ///< null: nothing kept

    s1::object_id site_id() const noexcept { return texts ? texts->site_id : 0; }
    std::string_view threat_name() const noexcept { return texts ? std::string_view(texts->threat_name) : ""; }
    std::string_view classification() const noexcept { return texts ? std::string_view(texts->classification) : ""; }
    std::string_view computer_name() const noexcept { return texts ? std::string_view(texts->computer_name) : ""; }
    /// Equal ids and time, and equal texts (none and empty ones alike).
    bool operator==(const threat_ref& other) const;
};

/// `with_details`: keep the placeholder texts (a note of the playbook uses per-threat ones).
threat_ref make_ref(const s1::threat_record& threat, bool with_details);

/// True when a note action of the playbook uses a per-threat placeholder.
bool needs_threat_details(const config::playbook& p);

/// The ledger's key for an action: action_name(), except that a note is `note:<16 hex of the
/// SHA-256 of its template>` so that two notes of one playbook are two actions.
std::string ledger_key(const config::action& a);

/// The ledger's threat id of a `target: filter` run: the run is the unit, not a threat.
std::string filter_run_key(std::string_view run_id);

/// Step 3 of a run: what `max_threats` does to `left` threats.
struct limit_decision {
    bool held = false;     ///< on_exceed: hold and too many: act on none
    std::size_t keep = 0;  ///< how many to act on (the oldest first)
    bool operator==(const limit_decision&) const = default;
};
limit_decision apply_limits(std::size_t left, const config::limits_config& limits);

/// The match's `limit` key: at most this many threats per run (the oldest left after the ledger
/// for `target: threats`; min(count, limit) for `target: filter`). Never sent in a GET, where
/// `limit` is the page size. `n` itself when the match has none.
std::size_t match_limit(const filter::threat_filter& match, std::size_t n);

/// `target: filter`: the match with its upper time bound pinned to the run's start
/// (`createdAt__lte`), unless it has one (`createdAt__lt` or `createdAt__lte`), so that every
/// count and action of the run selects the same threats, not also those created meanwhile.
filter::threat_filter pin_upper_bound(filter::threat_filter match, core::timestamp run_start);

/// A run restricted to given threat ids (a webhook event): the match with `ids` set to the
/// restriction, intersected with the match's own `ids` when it has some. nullopt when nothing is
/// left (the run has nothing to do).
std::optional<filter::threat_filter> restrict_match(const filter::threat_filter& match,
                                                    const std::vector<std::string>& ids);

/// What the ledger leaves of one action (state::remaining_action), threat ids as numbers: a run
/// holds these for every matched threat, so they are kept compact.
struct open_threats {
    std::vector<s1::object_id> to_do;    ///< no row, a failed row, or a done row past its cooldown
    std::vector<s1::object_id> pending;  ///< an earlier POST's outcome is unknown: reconcile first
    bool operator==(const open_threats&) const = default;
};

/// The ledger's answer as numbers. A threat id that is not a number (never one a resolve gave)
/// cannot be in a threats run's answer and is dropped.
open_threats to_open_threats(const state::remaining_action& remaining);

/// Step 2: the ids (in resolve order) for which some action is still to do or pending; each once.
std::vector<s1::object_id> threats_left(const std::vector<s1::object_id>& ordered_ids,
                                        const std::vector<open_threats>& remaining);

/// What one action must do: threats to send for, and threats whose earlier outcome is unknown
/// (reconcile first), in the order of `remaining`; only those in `selected`, which is sorted (a
/// set in one allocation). With on_error: stop, threats that failed an earlier action of the run
/// (`failed_before`, any order) are taken out and counted as skipped.
struct action_work {
    std::vector<s1::object_id> to_do;
    std::vector<s1::object_id> pending;
    std::vector<s1::object_id> skipped;
};
action_work work_for_action(const open_threats& remaining, const std::vector<s1::object_id>& selected,
                            const std::vector<s1::object_id>& failed_before, config::error_policy on_error);

/// Cuts `count` items into batches of at most `batch_size` (>= 1): the sizes, in order.
std::vector<std::size_t> batch_sizes(std::size_t count, std::size_t batch_size);

/// The filter of an action call: `ids` = the batch, plus the match's carried scope keys
/// (agentIds, accountIds, siteIds, groupIds) unchanged, and nothing else.
filter::threat_filter batch_filter(const filter::threat_filter& match, const std::vector<std::string>& ids);

/// The filter of an isolate call: `ids` = the agents, plus the match's accountIds, siteIds and
/// groupIds (agentIds would be a threat-side restriction on agent keys: left out).
filter::threat_filter agent_filter(const filter::threat_filter& match, const std::vector<std::string>& agent_ids);

/// The request an action sends with filter `f` (a note sends `note_text`). Refused (no I/O ever
/// happens) when the filter selects nothing.
s1::action_result build_request(const config::action& a, const filter::threat_filter& f, std::string_view note_text);

/// Run-level values of note placeholders.
struct note_values {
    std::string playbook;
    std::string run;
    std::string console;
    std::string mode;  ///< enforce | dry-run
    std::string time;  ///< the run's start, RFC 3339
    std::size_t matched = 0;
};

/// The note's text for one threat (per-threat placeholders) or for a whole batch (`threat` null;
/// per-threat placeholders then render empty).
std::string render_note(const config::note_template& text, const note_values& values, const threat_ref* threat);

/// One call a run makes (or, dry, would make): the threats it covers (ledger rows), for isolate
/// the agents it posts, the rendered note text, and the exact request.
struct planned_call {
    std::vector<std::string> threat_ids;
    std::vector<std::string> agent_ids;
    std::string note_text;
    s1::action_request request;
};

/// A threat as a call targets it: its id and its agent (0: none known).
struct call_target {
    s1::object_id threat = 0;
    s1::object_id agent = 0;
};

/// The one rule of a call's targets, used by plan, act and reconcile alike: the threats become
/// the call's ledger rows; isolate posts their distinct agents (in order) with agent_filter, and
/// a threat without an agent cannot be isolated: it is left out of the call and listed in
/// `no_agent` (reported failed, never sent); every other action posts the threats with
/// batch_filter. A call left with no target is refused with core::errc::empty_filter.
boost::system::result<planned_call> make_call(const config::action& a, const filter::threat_filter& match,
                                              const std::vector<call_target>& targets, std::string note_text,
                                              std::vector<std::string>& no_agent);

/// Step 4's cutting for `target: threats`: `threats` (all still to do for `a`) in batches of
/// `batch_size`, one threat per call for a note with per-threat placeholders, the filter of
/// batch_filter / agent_filter. An isolate batch whose threats have no agent id posts none of
/// them: they come back in `no_agent`.
struct call_plan {
    std::vector<planned_call> calls;
    std::vector<std::string> no_agent;
};
boost::system::result<call_plan> plan_calls(const config::action& a, const filter::threat_filter& match,
                                            const std::vector<const threat_ref*>& threats, std::size_t batch_size,
                                            const note_values& values);

/// `target: filter`: one call with the (resolved) match itself as the filter.
boost::system::result<planned_call> plan_filter_call(const config::action& a, const filter::threat_filter& match,
                                                     const note_values& values);

}  // namespace s1pilot::engine
