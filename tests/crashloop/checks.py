"""What the crash loop checks, as plain functions of what was recorded.

Nothing here starts or reads a process: the inputs are s1sim's journal (every request it
received), the threats and notes before and after, and the kills with what the ledger held at
each. So the same checks serve one daemon on SQLite killed N times and, later, two daemons on one
PostgreSQL ledger killed in turn: the kills carry their own ledger readings, whichever ledger.
"""

import collections
import dataclasses
import json
import statistics

API = "/web/api/v2.1"


def never(_threat):
    return False


def incident_set(threat):
    info = threat.get("threatInfo", {})
    return (info.get("incidentStatus"), info.get("analystVerdict")) == ("in_progress", "true_positive")


@dataclasses.dataclass(frozen=True)
class Action:
    key: str          # the ledger's and the audit's name of the action
    path: str         # the POST it is sent as
    convergent: bool  # doing it twice leaves the same state (a note would be there twice)
    # The effect reconciliation finds on a threat as it was before the run. A status is a state:
    # a generated threat may have it already, and a call whose answer was lost is then rightly
    # done without a resend. A mitigation needs an entry newer than the intent, a note its text.
    in_effect: object = never


# The playbook's actions (daemon.playbook_yaml), in its order.
ACTIONS = [
    Action("mitigate:kill", API + "/threats/mitigate/kill", True),
    Action("mitigate:quarantine", API + "/threats/mitigate/quarantine", True),
    Action("incident:in_progress:true_positive", API + "/threats/incident", True, incident_set),
    Action("note", API + "/threats/notes", False),
]
BY_PATH = {a.path: a for a in ACTIONS}


@dataclasses.dataclass
class Kill:
    """One SIGKILL and what the ledger and the audit log looked like right after it."""
    instance: int
    after_s: float         # since the instance was started
    phase: str             # 'starting' (not ready), 'ready' (no POST of its own yet), 'acting'
    in_flight: bool        # a POST of its own had reached s1sim and was not answered yet
    pending: int           # ledger rows `pending` after the kill, before the next start
    done: int              # ledger rows `done` then: how far the job was
    integrity: str         # PRAGMA integrity_check
    audit_ok: bool
    audit_message: str


@dataclasses.dataclass
class Recovery:
    """How long one started instance took to become useful, from its start (None: killed first)."""
    instance: int
    ready_s: float | None       # /readyz answered 200 (polled by the driver every ~20 ms)
    first_post_s: float | None  # s1sim read the headers of its first POST (journal receivedNs)


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str


def post_ids(entry):
    """The threat ids a POST named in its filter (an array, or the API's comma-separated text)."""
    ids = json.loads(entry["body"])["filter"].get("ids", [])
    return ids.split(",") if isinstance(ids, str) else [str(i) for i in ids]


def applied(journal):
    """(action key, threat id) -> how many POSTs applied it. A POST applied what it named when its
    status is 200: for `drop_after_apply` the journal's status is what would have been answered,
    so an applied-then-dropped call counts, and a 429, a 5xx or a reset (status 0) does not."""
    counts = collections.Counter()
    for entry in journal:
        action = BY_PATH.get(entry["path"])
        if entry["method"] != "POST" or action is None or entry["status"] != 200:
            continue
        for threat in post_ids(entry):
            counts[(action.key, threat)] += 1
    return counts


def mitigation_entries(threat, action):
    return sum(1 for m in threat.get("mitigationStatus") or [] if m.get("action") == action)


def check_nothing_lost(expected_ids, counts, before, after):
    """Every (action, threat) applied at least once by the journal (or in effect before the run),
    and visible on the threat. Returns the check, the lost count and the count in effect before."""
    unapplied = [(a, t) for t in expected_ids for a in ACTIONS if counts[(a.key, t)] == 0]
    missing = [(a.key, t) for a, t in unapplied if not a.in_effect(before[t])]
    wrong = []
    for t in expected_ids:
        old, new = before[t], after.get(t)
        if new is None:
            wrong.append(f"{t}: not returned by the API")
            continue
        for action, key in (("kill", "mitigate:kill"), ("quarantine", "mitigate:quarantine")):
            added = mitigation_entries(new, action) - mitigation_entries(old, action)
            if added != counts[(key, t)]:
                wrong.append(f"{t}: {added} new {action} entries, the journal applied {counts[(key, t)]}")
        if not incident_set(new):
            info = new.get("threatInfo", {})
            wrong.append(f"{t}: incident {info.get('incidentStatus')}/{info.get('analystVerdict')}")
    expected = len(expected_ids) * len(ACTIONS)
    before_run = len(unapplied) - len(missing)
    detail = (f"{expected - len(unapplied)} of {expected} (action, threat) applied, {before_run} in effect "
              f"before the run (reconciled, not resent); lost {len(missing)}"
              + (f", e.g. {missing[:3]}" if missing else "")
              + (f"; final state disagrees on {len(wrong)}: {wrong[:3]}" if wrong else ""))
    return Check("no action lost", not missing and not wrong, detail), len(missing), before_run


def check_notes_once(expected_ids, counts, notes, prefix):
    """Each threat has the playbook's note exactly once, in s1sim's notes and in the journal."""
    twice, absent, journal_twice = [], [], []
    for t in expected_ids:
        ours = [n for n in notes.get(t, []) if n.startswith(prefix)]
        if len(ours) > 1:
            twice.append(t)
        elif not ours:
            absent.append(t)
        if counts[("note", t)] > 1:
            journal_twice.append(t)
    ok = not twice and not absent and not journal_twice
    detail = (f"notes twice {len(twice)}, notes missing {len(absent)}, note POSTs applied twice "
              f"{len(journal_twice)}" + (f", e.g. {(twice or absent or journal_twice)[:3]}" if not ok else ""))
    return Check("no note twice", ok, detail), len(twice) + len(journal_twice)


def duplicates(counts):
    """Applied more than once, per convergent action: sum of (applications - 1)."""
    convergent = {a.key for a in ACTIONS if a.convergent}
    return sum(n - 1 for (key, _), n in counts.items() if key in convergent and n > 1)


def check_duplicates(counts, kills):
    dup, budget = duplicates(counts), sum(k.pending for k in kills)
    return Check("duplicates within the pending-at-kill budget", dup <= budget,
                 f"{dup} duplicate applications of convergent actions <= {budget} pending rows at the kills"), dup, budget


def check_integrity(kills, final):
    bad = [f"kill {k.instance}: {k.integrity}" for k in kills if k.integrity != "ok"]
    if final != "ok":
        bad.append(f"at the end: {final}")
    return Check("ledger integrity_check ok", not bad,
                 f"ok after {len(kills)} kills and at the end" if not bad else "; ".join(bad[:5]))


def check_audit(kills, final_ok, final_message):
    """The chain verifies after every kill and at the end. A last record cut short by a kill
    (`incomplete last record`) is allowed right after that kill only: the next start removes it,
    which the final verification proves."""
    bad = [f"kill {k.instance}: {k.audit_message}" for k in kills
           if not k.audit_ok and "incomplete last record" not in k.audit_message]
    torn = sum(1 for k in kills if not k.audit_ok) - len(bad)
    if not final_ok:
        bad.append(f"at the end: {final_message}")
    detail = (f"verifies with the key after every kill ({torn} cut-short last records, removed at the "
              f"next start) and at the end: {final_message.splitlines()[-1] if final_message else ''}")
    return Check("audit chain verifies", not bad, detail if not bad else "; ".join(bad[:5]))


def longest(recoveries, field):
    """Among the instances that got as far as `field`: (slowest seconds, its instance, how many got
    there, median seconds); (None, None, 0, None) when none did."""
    reached = [(getattr(r, field), r.instance) for r in recoveries if getattr(r, field) is not None]
    if not reached:
        return None, None, 0, None
    seconds, instance = max(reached)
    return seconds, instance, len(reached), statistics.median(s for s, _ in reached)
