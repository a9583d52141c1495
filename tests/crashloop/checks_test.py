#!/usr/bin/env python3
"""The crash loop's checks on made-up journals: each fails on the fault it exists to catch.

A crash loop that passes proves little unless its checks can fail; these cases are the proof,
and they run in a second (ctest `crashloop_checks`).
"""

import json
import unittest

import checks

KILL, QUARANTINE, INCIDENT, NOTE = (a.path for a in checks.ACTIONS)
THREATS = ["11", "12"]
PREFIX = "Contained by s1pilot playbook crashloop "


def post(path, ids, status=200, fault=None):
    return {"method": "POST", "path": path, "status": status, "fault": fault,
            "body": json.dumps({"filter": {"ids": ids, "accountIds": ["1"]}, "data": {}})}


def threat(kills=0, quarantines=0, incident=("unresolved", "undefined")):
    return {"mitigationStatus": [{"action": "kill"}] * kills + [{"action": "quarantine"}] * quarantines,
            "threatInfo": {"incidentStatus": incident[0], "analystVerdict": incident[1]}}


BEFORE = {t: threat() for t in THREATS}
DONE = ("in_progress", "true_positive")


def every_action_once():
    return [post(KILL, THREATS), post(QUARANTINE, THREATS), post(INCIDENT, THREATS), post(NOTE, THREATS)]


def after(kills=1, quarantines=1, incident=DONE):
    return {t: threat(kills, quarantines, incident) for t in THREATS}


def kill(pending):
    return checks.Kill(1, 0.5, "acting", False, pending, 0, "ok", True, "ok")


class NothingLost(unittest.TestCase):
    def test_everything_applied_once_passes(self):
        check, lost, _ = checks.check_nothing_lost(THREATS, checks.applied(every_action_once()), BEFORE, after())
        self.assertTrue(check.ok, check.detail)
        self.assertEqual(lost, 0)

    def test_an_action_never_applied_is_lost(self):
        journal = every_action_once()[1:]  # no kill
        check, lost, _ = checks.check_nothing_lost(THREATS, checks.applied(journal), BEFORE, after(kills=0))
        self.assertFalse(check.ok)
        self.assertEqual(lost, 2)

    def test_refused_reset_and_throttled_posts_apply_nothing(self):
        journal = every_action_once()[1:] + [post(KILL, THREATS, 500, "status500"), post(KILL, THREATS, 0, "reset"),
                                             post(KILL, THREATS, 429)]
        check, lost, _ = checks.check_nothing_lost(THREATS, checks.applied(journal), BEFORE, after(kills=0))
        self.assertFalse(check.ok)
        self.assertEqual(lost, 2)

    def test_an_applied_then_dropped_post_counts(self):
        journal = every_action_once()[1:] + [post(KILL, THREATS, 200, "drop_after_apply")]
        check, _, _ = checks.check_nothing_lost(THREATS, checks.applied(journal), BEFORE, after())
        self.assertTrue(check.ok, check.detail)

    def test_a_status_in_place_before_the_run_is_not_lost(self):
        journal = [e for e in every_action_once() if e["path"] != INCIDENT]
        before = {t: threat(incident=DONE) for t in THREATS}
        check, lost, before_run = checks.check_nothing_lost(THREATS, checks.applied(journal), before, after())
        self.assertTrue(check.ok, check.detail)
        self.assertEqual((lost, before_run), (0, 2))

    def test_the_threats_must_show_what_the_journal_applied(self):
        check, lost, _ = checks.check_nothing_lost(THREATS, checks.applied(every_action_once()), BEFORE,
                                                   after(quarantines=0))
        self.assertFalse(check.ok)
        self.assertEqual(lost, 0)
        self.assertIn("0 new quarantine entries, the journal applied 1", check.detail)
        check, _, _ = checks.check_nothing_lost(THREATS, checks.applied(every_action_once()), BEFORE,
                                                after(incident=("resolved", "true_positive")))
        self.assertFalse(check.ok)


class NotesOnce(unittest.TestCase):
    def test_one_note_each_passes(self):
        notes = {t: ["an analyst's note", PREFIX + "(run r-1)"] for t in THREATS}
        check, twice = checks.check_notes_once(THREATS, checks.applied(every_action_once()), notes, PREFIX)
        self.assertTrue(check.ok, check.detail)
        self.assertEqual(twice, 0)

    def test_a_second_note_fails_even_from_another_run(self):
        notes = {"11": [PREFIX + "(run r-1)", PREFIX + "(run r-2)"], "12": [PREFIX + "(run r-1)"]}
        journal = every_action_once() + [post(NOTE, ["11"], 200, "drop_after_apply")]
        check, twice = checks.check_notes_once(THREATS, checks.applied(journal), notes, PREFIX)
        self.assertFalse(check.ok)
        self.assertEqual(twice, 2)  # on the threat and in the journal

    def test_a_missing_note_fails(self):
        check, _ = checks.check_notes_once(THREATS, checks.applied(every_action_once()), {"11": [PREFIX]}, PREFIX)
        self.assertFalse(check.ok)


class Duplicates(unittest.TestCase):
    def test_duplicates_beyond_the_pending_rows_at_the_kills_fail(self):
        journal = every_action_once() + [post(KILL, THREATS), post(QUARANTINE, ["11"])]
        counts = checks.applied(journal)
        self.assertEqual(checks.duplicates(counts), 3)
        self.assertTrue(checks.check_duplicates(counts, [kill(2), kill(1)])[0].ok)
        self.assertFalse(checks.check_duplicates(counts, [kill(2), kill(0)])[0].ok)

    def test_a_note_twice_is_not_a_convergent_duplicate(self):
        counts = checks.applied(every_action_once() + [post(NOTE, THREATS)])
        self.assertEqual(checks.duplicates(counts), 0)


class IntegrityAndAudit(unittest.TestCase):
    def test_a_bad_integrity_check_fails(self):
        bad = checks.Kill(3, 0.1, "starting", False, 0, 0, "*** in database main ***", True, "ok")
        self.assertFalse(checks.check_integrity([kill(0), bad], "ok").ok)
        self.assertFalse(checks.check_integrity([kill(0)], "row 3 missing from index").ok)
        self.assertTrue(checks.check_integrity([kill(0)], "ok").ok)

    def test_only_a_cut_short_last_record_is_allowed_and_only_after_a_kill(self):
        torn = checks.Kill(2, 0.1, "acting", True, 1, 0, "ok", False, "audit.jsonl:9: incomplete last record (…)")
        self.assertTrue(checks.check_audit([torn], True, "ok: 9 record(s)").ok)
        self.assertFalse(checks.check_audit([torn], False, "audit.jsonl:9: incomplete last record (…)").ok)
        broken = checks.Kill(2, 0.1, "acting", True, 1, 0, "ok", False, "audit.jsonl:4: seq 4: hash mismatch")
        self.assertFalse(checks.check_audit([broken], True, "ok").ok)


class Recoveries(unittest.TestCase):
    def test_the_slowest_of_those_that_got_there(self):
        recoveries = [checks.Recovery(1, 0.2, None), checks.Recovery(2, None, None), checks.Recovery(3, 0.9, 1.5)]
        self.assertEqual(checks.longest(recoveries, "ready_s"), (0.9, 3, 2, 0.55))
        self.assertEqual(checks.longest(recoveries[:2], "first_post_s"), (None, None, 0, None))


if __name__ == "__main__":
    unittest.main()
