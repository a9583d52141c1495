"""The s1pilot side of the crash loop: its files, one `s1pilot run` process, the ledger it leaves.

A `Deployment` is what survives every kill: the configuration, the secrets (0600 files), the
ledger and the audit directory. An `Instance` is one `s1pilot run` process of it, started,
watched without blocking (admin port, readiness, a trigger) and SIGKILLed or stopped. The ledger
is read through `SqliteLedger`; a PostgreSQL ledger shared by two instances (the fail-over mode)
would be another class with the same two methods.
"""

import contextlib
import glob
import http.client
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time

from ops_bench import READY_LINE  # `admin listener ready listen=127.0.0.1:PORT` in the text log

ACCOUNTS = ["1364475734557453411", "1364475734557453412", "1364475734557453413"]
PLAYBOOK = "crashloop"
NOTE_PREFIX = f"Contained by s1pilot playbook {PLAYBOOK} "


def write_secret(path, data):
    """A secret file as s1pilot accepts one: created with mode 0600, never readable by others."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(data)


class SqliteLedger:
    """The SQLite ledger, opened read-only for each question, never while a write is expected.

    Read between a kill and the next start, so it shows what the killed process left on disk
    (its WAL included); read while a daemon runs only to see how far the job is.
    """

    def __init__(self, path):
        self.path = path

    def _connect(self):
        # mode=ro: the driver must not change the file it checks (no checkpoint into it).
        return contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30))

    def counts(self):
        """Rows of the actions table by status: {'pending': n, 'done': n, 'failed': n}."""
        counts = {"pending": 0, "done": 0, "failed": 0}
        if not os.path.exists(self.path):
            return counts  # killed before the ledger was created
        with self._connect() as db:
            try:
                rows = db.execute("SELECT status, count(*) FROM actions GROUP BY status").fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return counts  # killed before the schema was created
                raise
        counts.update(dict(rows))
        return counts

    def pending(self):
        """The (action key, threat id) pairs pending now."""
        if not os.path.exists(self.path):
            return set()
        with self._connect() as db:
            try:
                return set(db.execute("SELECT action_key, threat_id FROM actions WHERE status = 'pending'"))
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return set()
                raise

    def integrity(self):
        """`PRAGMA integrity_check`: 'ok', or what SQLite found wrong."""
        if not os.path.exists(self.path):
            return "ok"
        with self._connect() as db:
            return "; ".join(row[0] for row in db.execute("PRAGMA integrity_check").fetchall())


class Deployment:
    """One s1pilot installation on disk: configuration, playbook, secrets, ledger, audit directory."""

    def __init__(self, workdir, s1pilot, sim, threats, token, write_rate, shared=None):
        """`shared`: None for a ledger of its own (SQLite, in the work directory), or a
        SharedLedger (failover.py) whose configuration lines replace `state:`."""
        self.workdir, self.s1pilot, self.sim = workdir, s1pilot, sim
        self.token = token
        self.admin_token = secrets.token_hex(16)
        self.audit_dir = os.path.join(workdir, "audit")
        os.mkdir(self.audit_dir, 0o700)
        self.audit_key = os.path.join(workdir, "audit-key")
        call_timeout = ""
        if shared is None:
            state = os.path.join(workdir, "state.db")
            self.ledger = SqliteLedger(state)
            state_yaml = f"state: {state}\n"
        else:
            self.ledger = shared.ledger
            state_yaml = shared.config_yaml()
            call_timeout = f", call: {shared.call_timeout}"
        write_secret(os.path.join(workdir, "s1-token"), token.encode())
        write_secret(os.path.join(workdir, "admin-token"), self.admin_token.encode() + b"\n")
        write_secret(self.audit_key, secrets.token_bytes(32))
        playbooks = os.path.join(workdir, "playbooks")
        os.mkdir(playbooks)
        with open(os.path.join(playbooks, PLAYBOOK + ".yaml"), "w") as f:
            f.write(playbook_yaml(threats))
        self.config = os.path.join(workdir, "s1pilot.yaml")
        with open(self.config, "w") as f:
            f.write(config_yaml(workdir, sim, write_rate, state_yaml, call_timeout))
        self.instances = []

    def start(self):
        """A new `s1pilot run` on these files (the caller makes sure the previous one is gone)."""
        instance = Instance(len(self.instances) + 1, self)
        self.instances.append(instance)
        return instance

    def audit_files(self):
        return sorted(glob.glob(os.path.join(self.audit_dir, "audit.jsonl*")))

    def verify_audit(self):
        """`s1pilot audit verify` over every audit file with the HMAC key: (ok, what it printed)."""
        files = self.audit_files()
        if not files:
            return True, "no audit file yet"
        done = subprocess.run([self.s1pilot, "audit", "verify", "--key-file", self.audit_key, *files],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        return done.returncode == 0, (done.stdout + done.stderr).strip()

    def token_written(self):
        """Files of the work directory (outputs, audit, ledger) that hold the console token."""
        needle = self.token.encode()
        found = []
        for root, _, names in os.walk(self.workdir):
            for name in names:
                path = os.path.join(root, name)
                if name == "s1-token" and root == self.workdir:
                    continue  # where it is meant to be
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
        return found


def playbook_yaml(threats):
    # Three convergent actions and a note: redoing a kill, a quarantine or a status is harmless,
    # a second note is not. The match keys never change under the actions (accountIds), so a
    # threat acted on stays selected and each restart's run finds the same work left.
    return f"""name: {PLAYBOOK}
description: "The crash loop's playbook (tests/crashloop): every threat of the three accounts."
console: sim
mode: enforce
trigger: {{every: 5s, webhook: true}}
match:
  accountIds: {json.dumps(ACCOUNTS)}
limits: {{max_threats: {threats}, on_exceed: hold}}
actions:
  - mitigate: kill
  - mitigate: quarantine
  - incident: {{status: in_progress, verdict: true_positive}}
  - note: "{NOTE_PREFIX}(run {{{{run}}}})"
on_error: stop
"""


def config_yaml(workdir, sim, write_rate, state_yaml, call_timeout):
    # The write rate paces the job (about 80 POSTs); a burst of 1 keeps a restart from sending a
    # burst of saved-up tokens. s1sim's own write limit is lower still, so a fresh instance meets
    # 429s and Retry-After as the real console would answer it.
    return f"""consoles:
  sim:
    url: {sim.url}
    token: {{file: {os.path.join(workdir, "s1-token")}}}
    ca_file: {sim.ca_file}
    rate_limits:
      read: {{rate: 100, burst: 100}}
      write: {{rate: {write_rate:g}, burst: 1}}
    timeouts: {{connect: 5s, request: 20s{call_timeout}}}
    batch_size: 100
playbooks: {os.path.join(workdir, "playbooks")}
{state_yaml.rstrip()}
audit:
  path: {os.path.join(workdir, "audit", "audit.jsonl")}
  rotate_size: 256KiB
  keep: 10000
  hmac_key: {{file: {os.path.join(workdir, "audit-key")}}}
admin:
  listen: 127.0.0.1:0
  token: {{file: {os.path.join(workdir, "admin-token")}}}
retry: {{max_attempts: 5, base: 200ms, cap: 2s}}
log: {{level: info, format: text}}
"""


class Instance:
    """One `s1pilot run` of a deployment. `step()` advances what the driver watches, never blocking
    for long: the admin port from the log, then readiness, then one trigger of the playbook."""

    def __init__(self, number, deployment):
        self.number, self.deployment = number, deployment
        self.stderr_path = os.path.join(deployment.workdir, f"s1pilot-{number}.err")
        self.port = None
        self.ready_ns = None     # when /readyz first answered 200 (CLOCK_MONOTONIC)
        self.triggered = False
        self.killed_ns = None
        self.started_ns = time.monotonic_ns()
        # Its own session: a kill reaches it alone, and a Ctrl-C of the driver does not.
        with open(self.stderr_path, "w") as child_stderr:
            self.process = subprocess.Popen([deployment.s1pilot, "-c", deployment.config, "run"],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=child_stderr, start_new_session=True)
        # Read through a file of our own: one shared with the child shares its offset, and a line
        # the child writes while we seek to the start lands there, over earlier lines.
        self._stderr = open(self.stderr_path, errors="replace")

    def running(self):
        return self.process.poll() is None

    def stderr(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def step(self):
        if self.port is None:
            found = READY_LINE.findall(self.stderr())
            if not found:
                return
            self.port = int(found[0])
        if self.ready_ns is None:
            if self._request("GET", "/readyz")[0] == 200:
                self.ready_ns = time.monotonic_ns()
            return
        if not self.triggered:
            # A webhook-style trigger as soon as it is ready: the schedule's first poll waits a
            # random splay, and the loop's kills must land in work, not in that wait.
            status, body = self._request("POST", f"/v1/playbooks/{PLAYBOOK}/run",
                                         {"Authorization": "Bearer " + self.deployment.admin_token})
            if status == 0:
                return  # no answer (a loaded machine): asked again next step
            if status != 202:
                raise RuntimeError(f"instance {self.number}: POST /v1/playbooks/{PLAYBOOK}/run answered "
                                   f"{status}: {body[:300]!r}")
            self.triggered = True

    def _request(self, method, path, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        except (ConnectionError, TimeoutError, http.client.HTTPException):
            return 0, b""  # not listening yet, or answering slowly under load: asked again next step
        finally:
            connection.close()

    def kill(self):
        """SIGKILL; returns once the process is gone (bounded)."""
        self.killed_ns = time.monotonic_ns()
        if self.running():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._stderr.close()

    def stop(self, drain_s=40):
        """SIGTERM and the drain; SIGKILL after `drain_s`. Returns the exit status."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=drain_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if not self._stderr.closed:
            self._stderr.close()
        return self.process.returncode


def log_tail(path, lines=20):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])

