#pragma once
// What s1pilot should have sent, computed independently in the test: the playbook loaded with
// the config module, the threats it selects evaluated over s1sim's dataset dump with
// filter::matches, and the POSTs of DESIGN §4 derived from those; and checks of the audit log.
// Checks report through GoogleTest (EXPECT_*), naming the action and the request.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/core/time.hpp"
#include "s1pilot/filter/filter.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim_process.hpp"

namespace s1pilot::integration {

namespace json = boost::json;

inline constexpr const char* api_prefix = "/web/api/v2.1";

/// A dump of s1sim's dataset (GET /_sim/threats) with what filter evaluation needs.
class dataset {
public:
    explicit dataset(json::object dump);

    /// The threats `f` selects (no relative times), oldest first: by createdAt, then id. The
    /// pointers are into this dataset.
    std::vector<const json::object*> select(const filter::threat_filter& f) const;
    const json::object* find(const std::string& id) const;
    /// The notes of a threat (empty when none).
    std::vector<std::string> notes(const std::string& id) const;
    const json::array& threats() const;

private:
    json::object dump_;
    std::map<std::string, std::vector<std::string>> notes_;
};

/// Loads one playbook file as s1pilot would (a load error fails the test: nullopt).
std::optional<config::playbook> load_playbook(const fs::path& file);

/// Text at a path of a threat object (`{"threatInfo", "createdAt"}`); "" when absent or null.
std::string field(const json::object& threat, std::initializer_list<std::string_view> path);

struct expected_run {
    std::vector<const json::object*> matched;  ///< what the match selects, oldest first
    std::vector<const json::object*> acted;    ///< after the limit (empty when held)
    bool held = false;
};

/// Steps 1 and 3 of DESIGN §4 for a fresh ledger: select with the match resolved at `now`,
/// then apply max_threats / on_exceed.
/// The result points into `data`, which must outlive it (hence no temporaries).
expected_run expect_run(const config::playbook& p, const dataset& data, core::timestamp now);
expected_run expect_run(const config::playbook& p, dataset&& data, core::timestamp now) = delete;

/// The full path an action POSTs to, e.g. `/web/api/v2.1/threats/mitigate/kill`.
std::string action_path(const config::action& a);

/// The values of the run-level note placeholders.
struct note_context {
    std::string playbook{};  ///< check_posts fills it in
    std::string run_id{};
    std::string console = "sim";
    std::string mode = "enforce";
    std::size_t matched = 0;
};

/// The resolve GET of a `target: threats` run (the first GET /threats without a cursor, ids or
/// countOnly): checks sorting, page size and that its filter is the match resolved at one
/// instant, which it returns (the instant s1pilot resolved relative times at).
std::optional<core::timestamp> check_resolve_query(const config::playbook& p,
                                                   const std::vector<journal_entry>& requests);

/// Checks `posts` against a `target: threats` run of `p` acting on `acted`: only the playbook's
/// action paths, actions in order, per action every id exactly once, batches of at most
/// `batch_size`, the filter `ids` + the match's scope keys and nothing else, the data (note
/// texts rendered), every answer 200.
void check_posts(const config::playbook& p, const std::vector<const json::object*>& acted,
                 const std::vector<journal_entry>& posts, int batch_size, const note_context& context);

/// The ids of threats, in order.
std::vector<std::string> ids_of(const std::vector<const json::object*>& threats);

/// Up to `n` threats of site ...020 without any mitigation entry yet: a playbook matching them
/// by id selects the same threats before and after it acts, and every mitigation entry they end
/// up with is the run's.
std::vector<std::string> unmitigated_ids(const dataset& data, std::size_t n);

/// The POST body's `filter.ids` as strings (empty when absent or malformed).
std::vector<std::string> body_ids(const journal_entry& post);

/// How often `id` was posted to `path` (only POSTs answered `status`, or any when 0).
std::size_t posts_for(const std::vector<journal_entry>& posts, const std::string& path, const std::string& id,
                      int status = 0);

// The audit log s1pilot wrote (DESIGN §6).

using audit_records = std::vector<boost::json::object>;

/// The run id of the last `run.start` of a playbook ("" when there is none: a test failure).
std::string last_run_id(const audit_records& records, const std::string& playbook);

/// How many records of `event` name `playbook` (and `action`, when not empty).
std::size_t count_events(const audit_records& records, std::string_view event, const std::string& playbook,
                         const std::string& action = {});

/// The chain verifies (audit::verify, HMAC-SHA-256 with `hmac_key`: every pilot keys its log)
/// and every record's seq follows the previous one.
void expect_audit_verifies(const fs::path& audit_file, const std::string& hmac_key);

/// A dry run recorded, for each action, the request it would have sent (outcome dry_run, the
/// action's path) for exactly the threats it would have acted on, and nothing with another
/// outcome.
void expect_dry_run_records(const audit_records& records, const config::playbook& p,
                            const std::vector<std::string>& acted_ids);

/// The `threat_ids` of a record as strings.
std::vector<std::string> threat_ids_of(const boost::json::object& record);

}  // namespace s1pilot::integration
