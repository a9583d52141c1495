#!/usr/bin/env python3
"""The fail-over loop (issue #12, DESIGN §9): two `s1pilot run` of one cluster on one PostgreSQL
ledger and s1sim with a 2,000-threat job and faults on; the ACTIVE instance is SIGKILLed N times at
random moments and restarted each time as a new standby.

Two deployments (a, b), each with its own configuration, secrets, admin listener and audit chain,
share the database (a server of the driver's own: postgres.py), the cluster name and s1sim. After
each kill the driver records the ledger's pending rows (what the dead instance may have had on
the wire), waits for the other instance to become active (its `/readyz` 200: the take-over time,
from the kill) and starts the killed deployment again. The last active finishes the job; both are
stopped with SIGTERM. Then, with crashloop.py's checks: no action lost, no note twice, every
duplicate application of another action one that was pending at a kill (a POST possibly on the
wire), each deployment's audit chain verifies, the console token written nowhere (files and the
database's). It reports the take-over times.

    tests/crashloop/failover.py 10 --s1pilot build/ci/s1pilot --s1sim build/ci/s1sim
    scripts/failover 10 --seed 1234          # the same, building what is missing

Exit 0 when every check passed, 1 naming the failed checks, 2 when the loop could not run, 77
(ctest's skip) when PostgreSQL cannot be started here, saying why.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time

import checks
import crashloop
from crashloop import LoopError, threats_by_id
from daemon import ACCOUNTS, NOTE_PREFIX, PLAYBOOK, Deployment, log_tail
from harness import API, Simulator
import postgres

LEASE_RETRY = "500ms"
LEASE_GRACE = "2s"
# A row the dead active left pending is decided CALL_TIMEOUT + LEASE_GRACE after it was written.
CALL_TIMEOUT = "30s"
TAKEOVER_TIMEOUT_S = 60.0
SKIP = 77


class SharedLedger:
    """What both deployments' configurations name: the database, its password file, the cluster."""

    def __init__(self, server, workdir):
        self.server = server
        self.ledger = postgres.PostgresLedger(server)
        self.call_timeout = CALL_TIMEOUT
        self.password_file = os.path.join(workdir, "db-password")
        with open(os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(server.password)

    def config_yaml(self):
        return (f"state: {self.server.uri()}\nstate_password: {{file: {self.password_file}}}\n"
                f"cluster: failover\nlease: {{retry: {LEASE_RETRY}, grace: {LEASE_GRACE}}}\n")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kills", type=int, nargs="?", default=10, help="how many SIGKILLs of the active (default 10)")
    parser.add_argument("--seed", type=int, help="the kill moments' and s1sim's seed (default: random, printed)")
    parser.add_argument("--s1pilot", required=True, help="the s1pilot binary")
    parser.add_argument("--s1sim", required=True, help="the s1sim binary")
    parser.add_argument("--threats", type=int, default=crashloop.THREATS, help="s1sim's dataset (default 2000)")
    parser.add_argument("--expected-run", type=float, default=50.0,
                        help="seconds the job takes without kills: the kill windows' guess (default 50)")
    parser.add_argument("--finish-timeout", type=float, default=300.0,
                        help="seconds the last active may take to finish the job (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory even when every check passed")
    return parser.parse_args()


class FailoverLoop:
    def __init__(self, args, rng, sim, deployments, ledger, expected_pairs):
        self.args, self.rng, self.sim, self.ledger = args, rng, sim, ledger
        self.deployments = deployments
        self.expected_pairs = expected_pairs
        self.current = {}          # deployment name -> its running instance
        self.journal, self.next_seq = [], 0
        self.kills = []            # checks.Kill, one per SIGKILL
        self.pending_at_kills = []  # the pending (action, threat) pairs right after each kill
        self.takeovers = []        # seconds from a kill to the other instance's /readyz 200

    def read_journal(self):
        answer = self.sim.call("GET", "/_sim/requests", params={"since": self.next_seq})
        self.next_seq = answer["next"]
        self.journal.extend(answer["requests"])

    def step_all(self):
        for name, instance in self.current.items():
            if not instance.running():
                raise LoopError(f"instance {name}{instance.number} exited by itself with status "
                                f"{instance.process.returncode}:\n{log_tail(instance.stderr_path)}")
            instance.step()

    def active(self):
        """The deployment whose instance answers /readyz 200, or None."""
        ready = [name for name, instance in self.current.items() if instance.ready_ns]
        if len(ready) > 1:
            raise LoopError(f"two instances are ready (active) at once: {ready}")
        return ready[0] if ready else None

    def wait_active(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.step_all()
            if (name := self.active()) is not None:
                return name
            time.sleep(crashloop.STEP_S)
        raise LoopError(f"no instance became active within {timeout_s:g} s")

    def run_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step_all()
            time.sleep(crashloop.STEP_S)

    def finished(self):
        counts = self.ledger.counts()
        return counts["done"] == self.expected_pairs and counts["pending"] == 0

    def window_s(self, kills_left):
        """Twice the job's time left per kill left, from the done rows per second so far."""
        elapsed = time.monotonic() - self.started
        done = self.ledger.counts()["done"]
        if done > 0:
            left_s = (self.expected_pairs - done) / (done / elapsed)
        else:
            left_s = self.args.expected_run * (1 - len(self.kills) / max(1, self.args.kills))
        return min(20.0, max(1.0, 2 * left_s / kills_left))

    def kill_active(self, name, after_s):
        instance = self.current[name]
        instance.kill()
        pending = self.ledger.pending()
        counts = self.ledger.counts()
        self.read_journal()
        posts = [e for e in self.journal if e["method"] == "POST" and e["receivedNs"]
                 and instance.killed_ns - crashloop.LATENCY_MS * 1_000_000 < e["receivedNs"] <= instance.killed_ns]
        deployment = self.deployments[name]
        audit_ok, audit_message = deployment.verify_audit()
        label = f"{name}{instance.number}"
        kill = checks.Kill(label, after_s, "acting" if counts["done"] else "ready", bool(posts), len(pending),
                           counts["done"], self.ledger.integrity(), audit_ok, audit_message)
        self.kills.append(kill)
        self.pending_at_kills.append(pending)
        return instance, kill

    def run(self):
        self.started = time.monotonic()
        a, b = self.deployments
        self.current[a] = self.deployments[a].start()
        first = self.wait_active(TAKEOVER_TIMEOUT_S)
        self.current[b] = self.deployments[b].start()
        print(f"failover: {first} active, {b} started as standby", flush=True)
        for n in range(self.args.kills):
            active = self.wait_active(TAKEOVER_TIMEOUT_S)
            became_active_ns = self.current[active].ready_ns
            after = self.rng.uniform(0, self.window_s(self.args.kills - n))
            self.run_for(after)
            killed, kill = self.kill_active(active, (time.monotonic_ns() - became_active_ns) / 1e9)
            del self.current[active]
            other = self.wait_active(TAKEOVER_TIMEOUT_S)
            took = (self.current[other].ready_ns - killed.killed_ns) / 1e9
            self.takeovers.append(took)
            self.current[active] = self.deployments[active].start()  # a new standby
            mark = "*" if kill.in_flight else " "
            print(f"failover: kill {n + 1:>3}: {kill.instance} after {kill.after_s:6.2f} s active{mark} "
                  f"pending {kill.pending:>4}  done {kill.done:>4}/{self.expected_pairs}  "
                  f"{other} active {took * 1000:6.0f} ms later  "
                  f"audit {'ok' if kill.audit_ok else kill.audit_message.splitlines()[-1]}", flush=True)
        deadline = time.monotonic() + self.args.finish_timeout
        while not self.finished():
            if time.monotonic() > deadline:
                raise LoopError(f"the job did not finish within {self.args.finish_timeout:g} s after the last "
                                f"kill (ledger {self.ledger.counts()}, expected {self.expected_pairs} done)")
            self.run_for(0.5)
        if self.active() is None:
            raise LoopError("the job finished with no instance active")
        for name, instance in self.current.items():
            status = instance.stop()
            if status != 0:
                raise LoopError(f"instance {name}{instance.number} exited {status} after SIGTERM:\n"
                                f"{log_tail(instance.stderr_path)}")
        self.read_journal()


def check_duplicates_were_pending(counts, pending_at_kills):
    """Every convergent action applied twice was pending at some kill: its POST was possibly on
    the wire when the active died. A duplicate of a pair never pending at a kill is a bug."""
    convergent = {a.key for a in checks.ACTIONS if a.convergent}
    pending = set().union(*pending_at_kills) if pending_at_kills else set()
    duplicated = [pair for pair, n in counts.items() if pair[0] in convergent and n > 1]
    stray = [pair for pair in duplicated if pair not in pending]
    return checks.Check("duplicates only of rows pending at a kill", not stray,
                        f"{len(duplicated)} pairs applied more than once, all pending at a kill" if not stray else
                        f"{len(stray)} duplicated pairs never pending at a kill, e.g. {stray[:3]}")


def token_in_database(server, token):
    """Tables of the ledger's database whose text holds the token."""
    found = []
    for (table,) in server.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
        rows = server.sql(f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%{token}%'")
        if rows and rows[0][0] != "0":
            found.append(f"database table {table}")
    return found


def main():
    args = parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    rng = random.Random(seed)
    print(f"failover: {args.kills} kills of the active, seed {seed}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="s1pilot-failover-")
    started = time.monotonic()
    token = "CANARY-" + secrets.token_hex(16)
    passed = False
    try:
        try:
            server = postgres.PostgresServer()
        except postgres.Unavailable as e:
            print(f"failover: skipped: cannot start a PostgreSQL server: {e}", flush=True)
            return SKIP
        with server, Simulator(args.s1sim, args.threats, seed=seed % 1000 + 1,
                               rate_limit=crashloop.SIM_WRITE_LIMIT, token=token) as sim:
            sim.call("PUT", "/_sim/faults", json={"spec": f"{crashloop.FAULTS},seed={seed}"})
            dump = sim.call("GET", "/_sim/threats", params={"accountIds": ",".join(ACCOUNTS)})
            before = {t["id"]: t for t in dump["data"]}
            expected_ids = sorted(before)
            if len(expected_ids) != args.threats:
                raise LoopError(f"the match selects {len(expected_ids)} threats, not {args.threats}")
            shared = SharedLedger(server, workdir)
            deployments = {}
            for name in ("a", "b"):
                os.mkdir(os.path.join(workdir, name), 0o700)
                deployments[name] = Deployment(os.path.join(workdir, name), args.s1pilot, sim, args.threats, token,
                                               crashloop.PILOT_WRITE_RATE, shared)
            loop = FailoverLoop(args, rng, sim, deployments, shared.ledger, len(expected_ids) * len(checks.ACTIONS))
            try:
                loop.run()
            finally:
                for deployment in deployments.values():
                    for instance in deployment.instances:
                        instance.stop()
            sim.call("PUT", "/_sim/faults", json={})
            after = threats_by_id(sim)
            notes = sim.call("GET", "/_sim/threats", params={"accountIds": ",".join(ACCOUNTS)})["notes"]
            leaked = [path for d in deployments.values() for path in d.token_written()]
            leaked += token_in_database(server, token)
            integrity = shared.ledger.integrity()
        with open(os.path.join(workdir, "journal.jsonl"), "w") as f:
            f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in loop.journal)
        counts = checks.applied(loop.journal)
        lost_check, lost, before_run = checks.check_nothing_lost(expected_ids, counts, before, after)
        notes_check, twice = checks.check_notes_once(expected_ids, counts, notes, NOTE_PREFIX)
        dup_check, dup, budget = checks.check_duplicates(counts, loop.kills)
        results = [lost_check, notes_check, dup_check, check_duplicates_were_pending(counts, loop.pending_at_kills),
                   checks.check_integrity(loop.kills, integrity)]
        for name, deployment in deployments.items():
            ok, message = deployment.verify_audit()
            kills = [k for k in loop.kills if k.instance.startswith(name)]
            check = checks.check_audit(kills, ok, message)
            results.append(checks.Check(f"{check.name} ({name})", check.ok, check.detail))
        results.append(checks.Check("token never written", not leaked,
                                    ", ".join(leaked) or "in no output, audit file or database table"))
        posts = [e for e in loop.journal if e["method"] == "POST"]
        print(f"\nfailover: seed {seed} (again: scripts/failover {args.kills} --seed {seed})")
        print(f"failover: kills {len(loop.kills)} ({sum(1 for k in loop.kills if k.in_flight)} with a POST in "
              f"flight, marked *; {sum(1 for k in loop.kills if k.pending)} with pending rows)")
        if loop.takeovers:
            print(f"failover: take-over (kill to the other's /readyz 200, lease.retry {LEASE_RETRY}): "
                  f"min {min(loop.takeovers) * 1000:.0f} ms, median {statistics.median(loop.takeovers) * 1000:.0f} ms, "
                  f"max {max(loop.takeovers) * 1000:.0f} ms")
        print(f"failover: actions expected {len(expected_ids) * len(checks.ACTIONS)}, applied "
              f"{sum(1 for n in counts.values() if n)} (+{before_run} in effect before the run), lost {lost}; "
              f"duplicates {dup} <= pending-at-kill budget {budget}; notes twice {twice}")
        print(f"failover: s1sim received {len(loop.journal)} requests ({len(posts)} POSTs, "
              f"{sum(1 for e in posts if e['status'] == 429)} of them 429)")
        print(f"failover: wall time {time.monotonic() - started:.1f} s")
        for check in results:
            print(f"failover: {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        failed = [c.name for c in results if not c.ok]
        if failed:
            print(f"failover: FAILED: {', '.join(failed)} (work directory kept: {workdir})", file=sys.stderr)
            return 1
        passed = True
        print("failover: passed")
        return 0
    except LoopError as e:
        print(f"failover: FAILED: {e}\nfailover: seed {seed}; work directory kept: {workdir}", file=sys.stderr)
        return 1
    except Exception as e:
        print(f"failover: could not run: {e!r}\nfailover: seed {seed}; work directory kept: {workdir}",
              file=sys.stderr)
        return 2
    finally:
        if passed and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
