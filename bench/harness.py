"""What the benchmark drivers share: an s1sim process, a measured process, the journal's counts.

Kept apart from the benchmarks themselves (pilot_bench.py: B1, B2, B6; ops_bench.py: B3, B5) so
that every driver starts the same instrument, reads the same counts and reports the same way.
"""

import dataclasses
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

API = "/web/api/v2.1"
PAGE = 1000  # threats per resolve page: how the journal tells resolve reads from other GETs


@dataclasses.dataclass
class Measurement:
    """One finished process: what it cost and what it said."""
    returncode: int
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_measured(argv, env=None, timeout_s=3600, workdir=None):
    """Runs argv to its end and measures it alone: wall clock, CPU (user+sys) and peak RSS."""
    workdir = workdir or tempfile.gettempdir()
    rss_file = os.path.join(workdir, "peak-rss")
    # The peak RSS comes from GNU time, not from our own wait4: Linux carries a process's peak
    # across fork and exec, so a child of this driver would report the driver's size (tens of
    # MiB) if it stayed smaller. GNU time is small; what it reports is the child's own.
    # CPU and wall come from wait4 on GNU time, to the microsecond; its own share is negligible.
    command = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *argv]
    # Files rather than pipes: a chatty child cannot block on a full pipe while we wait on it.
    with open(os.path.join(workdir, "stdout"), "w+") as out, open(os.path.join(workdir, "stderr"), "w+") as err:
        started = time.monotonic()
        # Its own session, so that a timeout ends GNU time and the process it runs together.
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        deadline = started + timeout_s
        try:
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid == child.pid:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{argv[0]} still running after {timeout_s:.0f} s")
                time.sleep(0.002)
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)
            os.wait4(child.pid, 0)
            raise
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        with open(rss_file) as f:
            # A failed command adds a "Command exited with non-zero status" line before ours.
            peak_rss_kib = int(f.read().split()[-1])
        out.seek(0)
        err.seek(0)
        return Measurement(child.returncode, wall, usage.ru_utime + usage.ru_stime, peak_rss_kib / 1024.0,
                           out.read(), err.read())


@dataclasses.dataclass
class JournalCounts:
    """What s1sim received during one run (its journal), as the lower bound of B1 needs it."""
    gets: int
    posts: int
    rate_limited: int
    # Distinct threats in the filters of accepted kill POSTs: what a client acted on, counted
    # the same way for every client whatever it prints.
    acted_on: int
    # Resolve pages (the 1,000-threat GETs): threats they carried after the first, and the time
    # between the first and the last answer. Their ratio is the resolve throughput, measured the
    # same way for every client, start-up and the last page's processing excluded.
    resolve_pages: int
    resolve_span_s: float


def _journal_time(text):
    utc = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return utc.timestamp()


class Simulator:
    """s1sim on 127.0.0.1, port 0, in its own temporary directory; stopped on leaving `with`."""

    def __init__(self, binary, threats, seed=1, rate_limit=None, token="bench-token", start_timeout_s=300,
                 journal=False):
        self.token = token
        self.dir = tempfile.mkdtemp(prefix="s1pilot-bench-")
        self.ca_file = os.path.join(self.dir, "s1sim-ca.pem")
        argv = [binary, "--listen", "127.0.0.1:0", "--token", token, "--threats", str(threats),
                "--seed", str(seed), "--write-ca", self.ca_file]
        if rate_limit:
            argv += ["--rate-limit", rate_limit]
        # The journal as a file too (flushed per line): a driver waiting for one request reads it
        # without asking s1sim, so the waiting costs the process being timed nothing.
        self.journal_file = os.path.join(self.dir, "journal.jsonl") if journal else None
        if journal:
            argv += ["--journal", self.journal_file]
        self._stderr = open(os.path.join(self.dir, "s1sim.stderr"), "w")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._stderr,
                                        stdin=subprocess.DEVNULL, text=True)
        try:
            self.port = self._wait_listening(start_timeout_s)
        except BaseException:
            self.stop()
            raise
        self.url = f"https://127.0.0.1:{self.port}"
        self._session = requests.Session()
        self._session.headers["Authorization"] = "ApiToken " + token

    def _wait_listening(self, timeout_s):
        # The listening line is s1sim's only stdout line. A 1,000,000-threat dataset takes a
        # couple of seconds to build; a timer kills a start that never comes.
        timer = _kill_after(self.process, timeout_s)
        try:
            line = self.process.stdout.readline().strip()
        finally:
            timer.cancel()
        if not line.startswith("listening on "):
            with open(self._stderr.name) as err:
                raise RuntimeError(f"s1sim did not start: {line!r} {err.read().strip()}")
        return int(line.rsplit(":", 1)[1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, **kwargs):
        """One request of the harness itself, on one keep-alive connection; raises unless 2xx."""
        # `verify` goes with every request: requests lets REQUESTS_CA_BUNDLE in the environment
        # win over a Session's own, and many hosts set it.
        r = self._session.request(method, self.url + path, timeout=600, verify=self.ca_file, **kwargs)
        r.raise_for_status()
        return r

    def call(self, method, path, **kwargs):
        """An admin route or a count, never rate-limited: its JSON answer."""
        return self.request(method, path, **kwargs).json()

    def count(self, query):
        """How many threats a GET /threats query matches (countOnly)."""
        return self.call("GET", API + "/threats", params=dict(query, countOnly="true"))["pagination"]["totalItems"]

    def reset(self):
        """The dataset as generated, an empty journal, the start-up rate limits with full buckets."""
        self.call("POST", "/_sim/reset")

    def journal_counts(self):
        entries = self.call("GET", "/_sim/requests")["requests"]
        gets = [e for e in entries if e["method"] == "GET"]
        pages = [e for e in gets if e["path"].endswith("/threats") and f"limit={PAGE}" in e["query"]
                 and e["status"] == 200]
        killed = set()
        for e in entries:
            if e["method"] == "POST" and e["path"].endswith("/mitigate/kill") and e["status"] == 200:
                killed.update(json.loads(e["body"])["filter"]["ids"])
        span = _journal_time(pages[-1]["time"]) - _journal_time(pages[0]["time"]) if len(pages) > 1 else 0.0
        return JournalCounts(
            gets=len(gets), posts=len(entries) - len(gets),
            rate_limited=sum(1 for e in entries if e["status"] == 429), acted_on=len(killed),
            resolve_pages=len(pages), resolve_span_s=span)


def _kill_after(process, seconds):
    timer = threading.Timer(seconds, process.kill)
    timer.daemon = True
    timer.start()
    return timer


@dataclasses.dataclass
class Figure:
    id: str
    figure: str
    value: float
    unit: str
    goal: str
    met: bool


def median(values):
    return statistics.median(values) if values else 0.0


def ratio(a, b):
    return a / b if b else 0.0


# --- reporting ------------------------------------------------------------------------------------

NO_BASELINE = object()  # in a row's baseline cell: the script cannot do what was measured


class Report:
    """Figures as JSON lines for scripts/bench, and a side-by-side table for the person watching."""

    def __init__(self, results):
        self.results = results
        self.rows = []  # (id, what, s1pilot, baseline, ratio, unit, goal, met), or (id, set-up) headings
        self.ids = set()
        self.setup = ""

    def section(self, id, heading, setup=""):
        """What the following figures of `id` were measured on: `heading` for the table, the
        shorter `setup` appended to each figure's name in the results (where figures of
        different runs are compared)."""
        self.setup = f" ({setup})" if setup else ""
        self.rows.append((id, heading))

    def add(self, figure, no_baseline=False):
        """One figure of s1pilot alone; `no_baseline` says so where the baseline and ratio would be
        (the section's heading says why)."""
        baseline = NO_BASELINE if no_baseline else None
        self.rows.append((figure.id, figure.figure, figure.value, baseline, None, figure.unit, figure.goal, figure.met))
        self._write([dataclasses.replace(figure, figure=figure.figure + self.setup)])

    def pair(self, id, what, values, unit, goal, met, ratio_goal="info"):
        """s1pilot's figure, the baseline's and (unless ratio_goal is None) their ratio; s1pilot's
        carries the goal."""
        pilot, baseline = values["s1pilot"], values["baseline"]
        figures = [Figure(id, f"s1pilot: {what}{self.setup}", pilot, unit, goal, met),
                   Figure(id, f"baseline: {what}{self.setup}", baseline, unit, "info", True)]
        r = None
        if ratio_goal is not None:
            r = ratio(pilot, baseline)
            ratio_met = ratio_goal == "info" or _meets(r, ratio_goal)
            met = met and ratio_met
            figures.append(Figure(id, f"s1pilot / baseline: {what}{self.setup}", r, "ratio", ratio_goal, ratio_met))
        self.rows.append((id, what, pilot, baseline, r, unit, goal, met))
        self._write(figures)

    def _write(self, figures):
        self.ids.update(f.id for f in figures)
        if self.results:
            with open(self.results, "a") as f:
                for figure in figures:
                    f.write(json.dumps(dataclasses.asdict(figure), separators=(",", ":")) + "\n")

    def print_table(self):
        print(f"\n{'id':<4} {'figure':<64} {'s1pilot':>10} {'baseline':>10} {'ratio':>7} {'unit':<6} {'goal':<13} met")
        for row in self.rows:
            if len(row) == 2:
                print(f"{row[0]:<4} [{row[1]}]")
                continue
            id, what, pilot, baseline, r, unit, goal, met = row
            if baseline is NO_BASELINE:
                cells, r_cell = [f"{pilot:>10.3f}", f"{'no baseline':>10}"], " " * 6
            else:
                cells = [f"{v:>10.3f}" if v is not None else " " * 10 for v in (pilot, baseline)]
                r_cell = f"{r:>7.3f}" if r is not None else " " * 7
            print(f"{id:<4} {what[:64]:<64} {cells[0]} {cells[1]} {r_cell} {unit:<6} {goal:<13} "
                  f"{'yes' if met else 'NO'}")
        sys.stdout.flush()


def _meets(value, goal):
    op, limit = goal.split()
    return value <= float(limit) if op == "<=" else value >= float(limit)
