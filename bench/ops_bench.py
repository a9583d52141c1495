#!/usr/bin/env python3
"""B3 and B5 of PERFORMANCE.md: the daemon (`s1pilot run`) reacting to webhooks, and idling.

B3 sends `POST /v1/events` with one new threat's id, one event at a time, and times each from
just before the event is sent until s1sim has read the headers of the kill POST for that threat
(the journal's `receivedNs`: CLOCK_MONOTONIC, the clock of time.monotonic_ns()). B5 loads 20
scheduled playbooks that select nothing and reads the daemon's RSS and CPU from /proc across an
idle window. The baseline script has no daemon mode, so neither has a baseline figure.

    bench/ops_bench.py                    1,000 events, a 60 s idle window (about 80 s)
    bench/ops_bench.py --quick            20 events, a 5 s window: proves the benchmarks still run
    bench/ops_bench.py --only B3 --results bench/results.json

Figures are appended to --results as JSON lines (id, figure, value, unit, goal, met); the exit
status says whether every benchmark produced its figures, never whether a goal was met.
"""

import argparse
import dataclasses
import http.client
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

from harness import Figure, Report, Simulator, median

BUILD_DIR = pathlib.Path(__file__).resolve().parent.parent / "build" / "bench"
ACCOUNTS = ["1364475734557453411", "1364475734557453412"]
SITES = ["1364475734565842019", "1364475734565842021"]  # the first of each account
# B3's playbook: one site and one classification, as a containment playbook scopes them.
B3_MATCH = {"siteIds": [SITES[0]], "classifications": ["Ransomware"]}
# B5's playbooks: a valid scope that selects nothing, a site of one account under another account.
B5_MATCH = {"accountIds": [ACCOUNTS[1]], "siteIds": [SITES[0]]}
TOKEN_ENV = "S1_API_TOKEN"
ADMIN_TOKEN = "bench-admin-token"
NO_BASELINE = "no baseline: the script has no webhook/daemon"
# The port and the space after it: a line read while it is being written is not taken cut short.
READY_LINE = re.compile(r"admin listener ready listen=127\.0\.0\.1:(\d+)\s")


@dataclasses.dataclass(frozen=True)
class Sizes:
    threats: int   # s1sim's dataset
    events: int    # B3
    idle_s: float  # B5


FULL = Sizes(2_000, 1_000, 60.0)
QUICK = Sizes(2_000, 20, 5.0)


class Daemon:
    """`s1pilot run` with its playbooks on one s1sim; stopped (SIGTERM, then SIGKILL) on leaving `with`."""

    def __init__(self, s1pilot, sim, playbooks, start_timeout_s=30):
        self.dir = tempfile.mkdtemp(prefix="s1pilot-", dir=sim.dir)
        config = write_config(self.dir, sim, playbooks)
        stderr_path = os.path.join(self.dir, "stderr")
        env = dict(os.environ, **{TOKEN_ENV: sim.token})
        with open(stderr_path, "w") as child_stderr:
            self.process = subprocess.Popen([s1pilot, "-c", config, "run"], env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=child_stderr)
        # Read through a file of our own: one shared with the child shares its offset, and a line
        # the child writes while we seek to the start lands there, over earlier lines.
        self._stderr = open(stderr_path, errors="replace")
        try:
            self.port = self._wait_port(start_timeout_s)
            self.admin = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            wait_until(lambda: self.get("/readyz")[0] == 200, start_timeout_s, "s1pilot is not ready")
        except BaseException:
            self.stop()
            raise

    def _wait_port(self, timeout_s):
        found = []
        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"s1pilot exited {self.process.returncode}: {self.stderr()[-2000:]}")
            found.extend(READY_LINE.findall(self.stderr()))
            return found
        try:
            wait_until(listening, timeout_s, "s1pilot's admin listener did not start")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; its stderr so far: {self.stderr()[-2000:]!r}") from None
        return int(found[0])

    def stderr(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def request(self, method, path, body=None, headers=None):
        self.admin.request(method, path, body=body, headers=headers or {})
        response = self.admin.getresponse()
        return response.status, response.read()

    def get(self, path):
        try:
            return self.request("GET", path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The listener closes a kept-alive connection idle for 10 s (B5's window): reconnect.
            self.admin.close()
            return self.request("GET", path)

    def status(self):
        status, body = self.get("/v1/status")
        if status != 200:
            raise RuntimeError(f"GET /v1/status answered {status}")
        return json.loads(body)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


def write_config(workdir, sim, playbooks):
    """s1pilot.yaml, the playbooks (name → YAML text) and the 0600 admin token file; the config's path."""
    directory = os.path.join(workdir, "playbooks")
    os.mkdir(directory)
    for name, text in playbooks.items():
        with open(os.path.join(directory, name + ".yaml"), "w") as f:
            f.write(text)
    token_file = os.path.join(workdir, "admin-token")
    with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(ADMIN_TOKEN + "\n")
    path = os.path.join(workdir, "s1pilot.yaml")
    with open(path, "w") as f:
        f.write(f"""consoles:
  sim:
    url: {sim.url}
    token: {{env: {TOKEN_ENV}}}
    ca_file: {sim.ca_file}
    # No pacing (s1sim has no limits either): B3 times the reaction, not the console's limits,
    # and the default write rate (2/s) would make every event after the fourth wait its turn.
    rate_limits:
      read: {{rate: 1000000, burst: 10000}}
      write: {{rate: 1000000, burst: 10000}}
    timeouts: {{connect: 5s, request: 30s}}
playbooks: {directory}
state: {os.path.join(workdir, "state.db")}
audit: {{path: {os.path.join(workdir, "audit.jsonl")}}}
admin: {{listen: "127.0.0.1:0", token: {{file: {token_file}}}}}
log: {{level: info, format: text}}
""")
    return path


def playbook(name, match, trigger, description):
    # JSON flow sequences are YAML too, and quote the ids so they stay strings.
    lines = "\n".join(f"  {key}: {json.dumps(values)}" for key, values in match.items())
    return f"""name: {name}
description: {json.dumps(description)}
mode: enforce
trigger: {trigger}
match:
{lines}
actions:
  - mitigate: kill
"""


def wait_until(predicate, timeout_s, what, pause_s=0.0005):
    deadline = time.monotonic() + timeout_s
    while True:
        if result := predicate():
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:g} s")
        time.sleep(pause_s)


class JournalTail:
    """s1sim's journal file read as it grows: the kill POSTs for each threat id, as they arrive."""

    def __init__(self, path):
        self.file = open(path)
        self.partial = ""

    def kill_received_ns(self, threat_id):
        """receivedNs of a kill POST naming threat_id among the lines added since last time, or None."""
        self.partial += self.file.read()
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            entry = json.loads(line)
            if (entry["method"] == "POST" and entry["path"].endswith("/threats/mitigate/kill")
                    and threat_id in json.loads(entry["body"])["filter"]["ids"]):
                return entry["receivedNs"]
        return None


def percentile(values, p):
    """The nearest-rank percentile: the smallest value with p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


# --- the benchmarks -------------------------------------------------------------------------------

def bench_b3(args, sizes, report):
    book = playbook("bench-webhook", B3_MATCH, "{webhook: true}",
                    "Kill ransomware of one site as soon as a webhook names it (bench/ops_bench.py).")
    with Simulator(args.s1sim, sizes.threats, journal=True) as sim, \
            Daemon(args.s1pilot, sim, {"bench-webhook": book}) as daemon:
        query = {key: ",".join(values) for key, values in B3_MATCH.items()}
        template = sim.call("GET", "/_sim/threats", params=dict(query, mitigationStatuses="not_mitigated"))["data"][0]
        del template["id"]  # a copy without an id is a new detection with a fresh id
        journal = JournalTail(sim.journal_file)
        headers = {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json"}
        reaction_ms, answer_ms, coalesced = [], [], 0
        for n in range(1, sizes.events + 1):
            threat_id = sim.call("POST", "/_sim/threats", json=template)["ids"][0]
            body = json.dumps({"threatIds": [threat_id]})
            sent = time.monotonic_ns()
            status, answer = daemon.request("POST", "/v1/events", body, headers)
            answered = time.monotonic_ns()
            if status != 202:
                raise RuntimeError(f"POST /v1/events answered {status}: {answer[:500]!r}")
            coalesced += sum(p["state"] != "started" for p in json.loads(answer)["playbooks"])
            received = wait_until(lambda: journal.kill_received_ns(threat_id), 10, f"no kill POST for {threat_id}")
            reaction_ms.append((received - sent) / 1e6)
            answer_ms.append((answered - sent) / 1e6)
            # One reaction at a time: the next event waits for this run's end, so it is never
            # coalesced into the run after this one.
            wait_until(lambda: runs_ended(daemon) >= n, 10, f"run {n} did not end", pause_s=0.001)
    report.section("B3", f"{sizes.events} webhook events, one new threat each, one at a time; {NO_BASELINE}",
                   f"{sizes.events} events")
    p99 = percentile(reaction_ms, 99)
    report.add(Figure("B3", "webhook event sent -> s1sim received the kill POST: p50", median(reaction_ms),
                      "ms", "info", True), no_baseline=True)
    report.add(Figure("B3", "webhook event sent -> s1sim received the kill POST: p99", p99, "ms", "<= 5",
                      p99 <= 5), no_baseline=True)
    report.add(Figure("B3", "the same: max", max(reaction_ms), "ms", "info", True), no_baseline=True)
    report.add(Figure("B3", "the 202 answer to POST /v1/events: p50", median(answer_ms), "ms", "info", True),
               no_baseline=True)
    report.add(Figure("B3", "the 202 answer to POST /v1/events: p99", percentile(answer_ms, 99), "ms", "info",
                      True), no_baseline=True)
    if coalesced:
        print(f"ops_bench: warning: {coalesced} events were coalesced", file=sys.stderr)


def runs_ended(daemon):
    status = daemon.status()
    return 0 if status["active_runs"] else sum(p["runs"] for p in status["playbooks"])


def bench_b5(args, sizes, report):
    books = {f"bench-idle-{i:02}": playbook(f"bench-idle-{i:02}", B5_MATCH, "{every: 60s}",
                                            "Selects nothing: what 20 loaded playbooks cost (bench/ops_bench.py).")
             for i in range(1, 21)}
    ticks = os.sysconf("SC_CLK_TCK")
    with Simulator(args.s1sim, sizes.threats) as sim:
        if sim.count({key: ",".join(values) for key, values in B5_MATCH.items()}):
            raise RuntimeError("B5's match selects threats")
        with Daemon(args.s1pilot, sim, books) as daemon:
            cpu_before = cpu_seconds(daemon.process.pid, ticks)
            time.sleep(sizes.idle_s)
            cpu = cpu_seconds(daemon.process.pid, ticks) - cpu_before
            memory = memory_mib(daemon.process.pid)
            runs = sum(p["runs"] for p in daemon.status()["playbooks"])
    report.section("B5", f"20 playbooks every 60s selecting nothing, {sizes.idle_s:g} s idle from ready "
                         f"({runs} runs in it, the first after a splay of up to 10 s); {NO_BASELINE}",
                   f"20 playbooks, {sizes.idle_s:g} s idle")
    report.add(Figure("B5", "RSS at the end (VmRSS)", memory["VmRSS"], "MiB", "<= 16", memory["VmRSS"] <= 16),
               no_baseline=True)
    report.add(Figure("B5", "peak RSS (VmHWM)", memory["VmHWM"], "MiB", "info", True), no_baseline=True)
    report.add(Figure("B5", "CPU s (user+sys) during the idle window", cpu, "s", "<= 0.05", cpu <= 0.05),
               no_baseline=True)


def cpu_seconds(pid, ticks):
    with open(f"/proc/{pid}/stat") as f:
        # The command name, in parentheses, may hold spaces: count the fields after it.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15


def memory_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        values = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
    return {key: int(value.split()[0]) / 1024 for key, value in values.items()}  # kB


BENCHMARKS = {"B3": bench_b3, "B5": bench_b5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--s1pilot", default=str(BUILD_DIR / "s1pilot"), help="the s1pilot binary")
    parser.add_argument("--s1sim", default=str(BUILD_DIR / "s1sim"), help="the s1sim binary")
    parser.add_argument("--results", help="append the figures here as JSON lines")
    parser.add_argument("--quick", action="store_true", help="20 events and a 5 s idle window (CI)")
    parser.add_argument("--only", help="comma-separated benchmarks to run (default: B3,B5)")
    parser.add_argument("--events", type=int, help="webhook events of B3")
    parser.add_argument("--idle", type=float, help="seconds of B5's idle window")
    args, _ = parser.parse_known_args()  # scripts/bench passes the other drivers' options to all

    sizes = QUICK if args.quick else FULL
    sizes = dataclasses.replace(sizes, events=args.events or sizes.events, idle_s=args.idle or sizes.idle_s)
    selected = (args.only or ",".join(BENCHMARKS)).upper().split(",")
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so every process started is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    report = Report(args.results)
    failed = []
    for id in selected:
        if id not in BENCHMARKS:
            continue  # another driver's benchmark (scripts/bench gives --only to every driver)
        print(f"ops_bench: {id}", file=sys.stderr, flush=True)
        try:
            BENCHMARKS[id](args, sizes, report)
        except Exception as e:  # one benchmark failing must not hide the other's figures
            print(f"ops_bench: {id} failed: {e}", file=sys.stderr)
            failed.append(id)
    report.print_table()
    failed += [id for id in selected if id in BENCHMARKS and id not in failed and id not in report.ids]
    if failed:
        print(f"ops_bench: no figures from {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
