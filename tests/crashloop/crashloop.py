#!/usr/bin/env python3
"""The crash loop (RELIABILITY.md #8): SIGKILL `s1pilot run` N times during a 2,000-threat job.

One s1sim with faults on (5xx, resets, applied-then-dropped POSTs, a write rate limit); one
s1pilot deployment (ledger, audit directory with an HMAC key) started N+1 times. Each instance is
SIGKILLed at a uniformly random moment of a window after its start, before or after readiness,
between or in the middle of batches; after each kill the ledger is opened read-only (pending rows,
integrity_check) and the audit chain verified, then the next instance starts on the same files.
The last instance finishes the job and is stopped with SIGTERM. Then the journal, the threats and
their notes are checked (checks.py), and a summary is printed.

    tests/crashloop/crashloop.py 100 --s1pilot build/ci/s1pilot --s1sim build/ci/s1sim
    scripts/crashloop 100 --seed 1234          # the same, building what is missing

Exit 0 when every check passed, 1 naming the failed checks, 2 when the loop itself could not run.
The seed is printed. The same seed gives the same dataset, the same fault sequence and the same
draws for the kill moments; a window's width, and what the daemon is doing at a given moment,
still depend on the machine's timing, so a replay is close, not identical.

A second mode (issue #12, fail-over): two deployments with one PostgreSQL ledger, the active
instance killed each time. It needs a ledger reader with SqliteLedger's methods, a loop that
finds the active instance (the admin listener's `s1pilot_leader`), and nothing new in checks.py:
the checks take the journal, the threats, the notes and the list of kills (each with the ledger's
reading at that kill), and the audit is verified per deployment.
"""

import argparse
import json
import os
import pathlib
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "bench"))

import checks  # noqa: E402
from daemon import ACCOUNTS, NOTE_PREFIX, Deployment, log_tail  # noqa: E402
from harness import API, Simulator  # noqa: E402

THREATS = 2000
# Every fault a console throws at a client, on every API request the daemon makes; drawn from
# s1sim's seeded fault RNG. Latency keeps a POST in flight long enough for kills to land in it.
LATENCY_MS = 30
FAULTS = f"status500=0.04,status503=0.02,reset=0.03,drop_after_apply=0.08,latency={LATENCY_MS}ms"
SIM_WRITE_LIMIT = "write=2/s:burst=2"
PILOT_WRITE_RATE = 2.5
STEP_S = 0.02


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kills", type=int, nargs="?", default=10, help="how many SIGKILLs (default 10)")
    parser.add_argument("--seed", type=int, help="the kill moments' and s1sim's seed (default: random, printed)")
    parser.add_argument("--s1pilot", required=True, help="the s1pilot binary")
    parser.add_argument("--s1sim", required=True, help="the s1sim binary")
    parser.add_argument("--threats", type=int, default=THREATS, help=f"s1sim's dataset (default {THREATS})")
    parser.add_argument("--expected-run", type=float, default=50.0,
                        help="seconds the job takes without kills: the first kill windows' guess (default 50)")
    parser.add_argument("--within", type=float,
                        help="spread the kills over at most this many seconds: windows shrink to fit (CI's bound)")
    parser.add_argument("--finish-timeout", type=float, default=240.0,
                        help="seconds the last instance may take to finish the job (default 240)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory even when every check passed")
    return parser.parse_args()


class Loop:
    """The kills of one deployment, one instance at a time, and what was measured around them."""

    def __init__(self, args, rng, sim, deployment, expected_pairs):
        self.args, self.rng, self.sim, self.deployment = args, rng, sim, deployment
        self.expected_pairs = expected_pairs
        self.journal, self.next_seq = [], 0
        self.kills, self.recoveries = [], []
        self.lifetime_s = 0.0
        self.started = time.monotonic()

    def read_journal(self):
        """The journal's entries since the last read, appended to self.journal; returns them."""
        answer = self.sim.call("GET", "/_sim/requests", params={"since": self.next_seq})
        self.next_seq = answer["next"]
        self.journal.extend(answer["requests"])
        return answer["requests"]

    def window_s(self, kills_left):
        """The span the next kill moment is drawn from, uniformly: twice the lifetime each instance
        left should have for the kills to spread over the work that is left (measured from the
        ledger's done rows per second of instance lifetime so far). Instances live long enough
        to do some work, and some die before they are ready. With --within, no wider than the
        time left for the kills allows."""
        done = self.kills[-1].done if self.kills else 0
        if done > 0 and self.lifetime_s > 0:
            left_s = (self.expected_pairs - done) / (done / self.lifetime_s)
        else:
            left_s = self.args.expected_run * (1 - len(self.kills) / max(1, self.args.kills))
        window = min(30.0, max(1.0, 2 * left_s / kills_left))
        if self.args.within:
            budget_s = self.args.within - (time.monotonic() - self.started)
            window = min(window, max(0.2, 2 * budget_s / kills_left))
        return window

    def run_instance(self, kill_after_s):
        """Starts an instance and SIGKILLs it `kill_after_s` later, or runs it to the end of the job
        (None). Returns the instance, still running when it finishes the job."""
        instance = self.deployment.start()
        deadline = time.monotonic() + (kill_after_s if kill_after_s is not None else self.args.finish_timeout)
        next_look = 0.0
        while time.monotonic() < deadline:
            if not instance.running():
                raise LoopError(f"instance {instance.number} exited by itself with status "
                                f"{instance.process.returncode}:\n{log_tail(instance.stderr_path)}")
            instance.step()
            if kill_after_s is None and instance.ready_ns and time.monotonic() >= next_look:
                if self.finished():
                    return instance
                next_look = time.monotonic() + 0.5  # the ledger, not the daemon, is asked: sparingly
            time.sleep(STEP_S)
        if kill_after_s is None:
            counts = self.deployment.ledger.counts()
            raise LoopError(f"the last instance did not finish the job within {self.args.finish_timeout:g} s "
                            f"(ledger {counts}, expected {self.expected_pairs} done)")
        instance.kill()
        self.lifetime_s += (time.monotonic_ns() - instance.started_ns) / 1e9
        return instance

    def finished(self):
        counts = self.deployment.ledger.counts()
        return counts["done"] == self.expected_pairs and counts["pending"] == 0

    def record(self, instance, killed_after_s):
        """What the instance did (from the journal), and the state it left if it was killed."""
        posts = [e for e in self.read_journal()
                 if e["method"] == "POST" and e["receivedNs"] and e["receivedNs"] >= instance.started_ns]
        ready_s = (instance.ready_ns - instance.started_ns) / 1e9 if instance.ready_ns else None
        first_post_s = (posts[0]["receivedNs"] - instance.started_ns) / 1e9 if posts else None
        self.recoveries.append(checks.Recovery(instance.number, ready_s, first_post_s))
        took = (f"ready {ready_s:5.2f} s" if ready_s is not None else "not ready   ") + \
            (f"  1st POST {first_post_s:5.2f} s" if first_post_s is not None else "  no POST       ")
        if killed_after_s is None:
            print(f"crashloop: last instance {instance.number}: {took}; finished the job", flush=True)
            return
        phase = "starting" if ready_s is None else "acting" if posts else "ready"
        # s1sim answers LATENCY_MS after it has read a request: one read later than that before
        # the kill had not been answered, so the kill landed while the POST was in flight.
        in_flight = any(p["receivedNs"] > instance.killed_ns - LATENCY_MS * 1_000_000 for p in posts)
        ledger = self.deployment.ledger
        counts = ledger.counts()
        audit_ok, audit_message = self.deployment.verify_audit()
        kill = checks.Kill(instance.number, killed_after_s, phase, in_flight, counts["pending"], counts["done"],
                           ledger.integrity(), audit_ok, audit_message)
        self.kills.append(kill)
        mark = "*" if in_flight else " "
        print(f"crashloop: kill {len(self.kills):>3} at {killed_after_s:6.2f} s ({phase:<8}{mark}) {took}  "
              f"pending {kill.pending:>4}  done {kill.done:>4}/{self.expected_pairs}  "
              f"integrity {kill.integrity}  audit {'ok' if audit_ok else audit_message.splitlines()[-1]}",
              flush=True)

    def run(self):
        for n in range(self.args.kills):
            after = self.rng.uniform(0, self.window_s(self.args.kills - n))
            instance = self.run_instance(after)
            self.record(instance, after)
        last = self.run_instance(None)
        self.record(last, None)
        status = last.stop()
        if status != 0:
            raise LoopError(f"the last instance exited {status} after SIGTERM:\n{log_tail(last.stderr_path)}")
        self.read_journal()


class LoopError(Exception):
    """The loop could not go on: a check failed on the way (an instance died by itself, the job
    never finished), named in the message."""


def threats_by_id(sim):
    """Every threat of the three accounts through the API (GET /threats, following the cursor)."""
    threats, cursor = {}, None
    for _ in range(1000):  # bounded: 1,000 pages of 1,000
        params = {"accountIds": ",".join(ACCOUNTS), "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = sim.call("GET", API + "/threats", params=params)
        threats.update((t["id"], t) for t in page["data"])
        cursor = page["pagination"]["nextCursor"]
        if not cursor:
            return threats
    raise LoopError("GET /threats never ended its pages")


def summary(args, seed, loop, results, figures, wall_s):
    kills = loop.kills
    phases = {p: sum(1 for k in kills if k.phase == p) for p in ("starting", "ready", "acting")}
    print(f"\ncrashloop: seed {seed} (again: scripts/crashloop {args.kills} --seed {seed})")
    print(f"crashloop: kills {len(kills)}: before readiness {phases['starting']}, ready without a POST "
          f"{phases['ready']}, after POSTs {phases['acting']} ({sum(1 for k in kills if k.in_flight)} with a POST in "
          f"flight, marked *); with pending rows {sum(1 for k in kills if k.pending)}; "
          f"while work was left {sum(1 for k in kills if k.done < loop.expected_pairs)}")
    if kills:
        print(f"crashloop: kill moments {min(k.after_s for k in kills):.2f}..{max(k.after_s for k in kills):.2f} s "
              f"after a start (median {statistics.median(k.after_s for k in kills):.2f} s)")
    for line in figures:
        print(f"crashloop: {line}")
    for name, field in (("readiness", "ready_s"), ("first new POST", "first_post_s")):
        seconds, instance, reached, middle = checks.longest(loop.recoveries, field)
        text = f"{seconds:.2f} s (instance {instance}), median {middle:.2f} s" if reached else "none reached"
        print(f"crashloop: longest recovery to {name}: {text}; {reached} of {len(loop.recoveries)} instances got there")
    print(f"crashloop: wall time {wall_s:.1f} s")
    for check in results:
        print(f"crashloop: {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")


def main():
    args = parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    rng = random.Random(seed)
    print(f"crashloop: {args.kills} kills, seed {seed}", flush=True)
    # SIGTERM (a ctest timeout) unwinds like Ctrl-C: every process started is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="s1pilot-crashloop-")
    started = time.monotonic()
    token = "CANARY-" + secrets.token_hex(16)
    passed = False
    loop = None
    try:
        with Simulator(args.s1sim, args.threats, seed=seed % 1000 + 1, rate_limit=SIM_WRITE_LIMIT,
                       token=token) as sim:
            sim.call("PUT", "/_sim/faults", json={"spec": f"{FAULTS},seed={seed}"})
            dump = sim.call("GET", "/_sim/threats", params={"accountIds": ",".join(ACCOUNTS)})
            before = {t["id"]: t for t in dump["data"]}
            expected_ids = sorted(before)
            if len(expected_ids) != args.threats:
                raise LoopError(f"the match selects {len(expected_ids)} threats, not {args.threats}")
            deployment = Deployment(workdir, args.s1pilot, sim, args.threats, token, PILOT_WRITE_RATE)
            loop = Loop(args, rng, sim, deployment, len(expected_ids) * len(checks.ACTIONS))
            try:
                loop.run()
            finally:
                for instance in list(deployment.instances):
                    instance.stop()
            sim.call("PUT", "/_sim/faults", json={})  # the driver's own reads must not be faulted
            after = threats_by_id(sim)
            notes = sim.call("GET", "/_sim/threats", params={"accountIds": ",".join(ACCOUNTS)})["notes"]
        with open(os.path.join(workdir, "journal.jsonl"), "w") as f:  # kept with the rest on a failure
            f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in loop.journal)
        counts = checks.applied(loop.journal)
        lost_check, lost, before_run = checks.check_nothing_lost(expected_ids, counts, before, after)
        notes_check, twice = checks.check_notes_once(expected_ids, counts, notes, NOTE_PREFIX)
        dup_check, dup, budget = checks.check_duplicates(counts, loop.kills)
        final_ok, final_message = deployment.verify_audit()
        leaked = deployment.token_written()
        results = [lost_check, notes_check, dup_check,
                   checks.check_integrity(loop.kills, deployment.ledger.integrity()),
                   checks.check_audit(loop.kills, final_ok, final_message),
                   checks.Check("token never written", not leaked, ", ".join(leaked) or "in no output, audit or ledger file")]
        posts = [e for e in loop.journal if e["method"] == "POST"]
        faults = {f: sum(1 for e in loop.journal if e["fault"] == f)
                  for f in ("status500", "status503", "reset", "drop_after_apply")}
        figures = [f"actions expected {len(expected_ids) * len(checks.ACTIONS)}, applied "
                   f"{sum(1 for n in counts.values() if n)} (+{before_run} in effect before the run), lost {lost}; duplicates {dup} <= pending-at-kill "
                   f"budget {budget}; notes twice {twice}",
                   f"s1sim received {len(loop.journal)} requests ({len(posts)} POSTs, "
                   f"{sum(1 for e in posts if e['status'] == 429)} of them 429), faults injected {faults}"]
        summary(args, seed, loop, results, figures, time.monotonic() - started)
        failed = [c.name for c in results if not c.ok]
        if failed:
            print(f"crashloop: FAILED: {', '.join(failed)} (work directory kept: {workdir})", file=sys.stderr)
            return 1
        passed = True
        print("crashloop: passed")
        return 0
    except LoopError as e:
        print(f"crashloop: FAILED: {e}\ncrashloop: seed {seed}; work directory kept: {workdir}", file=sys.stderr)
        return 1
    except Exception as e:  # the instrument failed (s1sim did not start, an admin route failed)
        print(f"crashloop: could not run: {e!r}\ncrashloop: seed {seed}; work directory kept: {workdir}",
              file=sys.stderr)
        return 2
    finally:
        if passed and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
