"""A PostgreSQL server of the driver's own for the fail-over loop: Debian's `initdb` and `postgres`
(postgresql-15, installed by scripts/deps) in a temporary directory, on a Unix socket only, stopped
and removed on leaving `with`. As root the server runs as the `postgres` account (it refuses
root). The ledger's role `s1pilot` logs in with a password; the superuser, used by the driver's
own queries through `psql`, only over the socket without one. The same setup as the C++ tests'
tests/support/postgres_server.cpp.
"""

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

BIN = os.environ.get("S1PILOT_PG_BIN", "/usr/lib/postgresql/15/bin")


class Unavailable(Exception):
    """The server cannot be started here: the message says why (the caller skips, saying it)."""


def _account():
    """(user, uid, gid) the server runs as: ourselves, or as root the postgres (or nobody) account."""
    if os.geteuid() != 0:
        return None, os.geteuid(), os.getegid()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return name, entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise Unavailable("running as root, and neither a postgres nor a nobody account exists to run the server as")


class PostgresServer:
    def __init__(self, database="s1pilot"):
        for tool in ("initdb", "postgres", "psql"):
            if not os.access(os.path.join(BIN, tool), os.X_OK):
                raise Unavailable(f"no {tool} in {BIN} (install Debian's postgresql-15: scripts/deps; "
                                  "or set S1PILOT_PG_BIN)")
        self.user, uid, gid = _account()
        self.database = database
        self.password = secrets.token_hex(16)
        self.process = None
        # As root, under /tmp: the server's account must reach the directory.
        self.dir = tempfile.mkdtemp(prefix="s1pilot-pg-", dir="/tmp" if os.geteuid() == 0 else None)
        try:
            if os.geteuid() == 0:
                os.chown(self.dir, uid, gid)
            self.port = str(20000 + secrets.randbelow(40000))  # names the socket file only
            self._as_server([os.path.join(BIN, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--locale=C", "-N"], "initdb.log", timeout=120)
            with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
                f.write("local all postgres trust\nlocal all all scram-sha-256\n")
            self._start()
            self.sql(f"CREATE ROLE s1pilot LOGIN PASSWORD '{self.password}'", database="postgres")
            self.sql(f"CREATE DATABASE {database} OWNER s1pilot", database="postgres")
        except BaseException:
            self.stop()
            raise

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def uri(self):
        """What s1pilot's `state:` takes: the role, the database and the socket's directory and port."""
        return f"postgresql://s1pilot@/{self.database}?host={self.dir}&port={self.port}"

    def _as_server(self, argv, log, timeout):
        with open(os.path.join(self.dir, log), "a") as out:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=timeout,
                                  user=self.user, cwd=self.dir)
        if done.returncode != 0:
            with open(os.path.join(self.dir, log)) as f:
                raise Unavailable(f"{os.path.basename(argv[0])} failed: {f.read()[-500:]}")

    def _start(self):
        out = open(os.path.join(self.dir, "server.log"), "a")
        self.process = subprocess.Popen(
            [os.path.join(BIN, "postgres"), "-D", self.data, "-k", self.dir, "-p", self.port,
             "-c", "listen_addresses=", "-c", "fsync=on", "-c", "synchronous_commit=on",
             "-c", "max_connections=40", "-c", "shared_buffers=16MB"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, user=self.user, cwd=self.dir,
            start_new_session=True)
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"postgres exited with {self.process.returncode}: {self.log_tail()}")
            if self._psql(["-c", "SELECT 1"], "postgres", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise Unavailable(f"postgres did not accept connections within 60 s: {self.log_tail()}")

    def _psql(self, args, database, check=True):
        done = subprocess.run([os.path.join(BIN, "psql"), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                               "-h", self.dir, "-p", self.port, "-U", "postgres", "-d", database, *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done

    def sql(self, statement, database=None):
        """Runs one statement as the superuser; the rows as lists of text fields."""
        out = self._psql(["-c", statement], database or self.database).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def log_tail(self, chars=800):
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def stop(self):
        """Immediate shutdown (SIGQUIT, as a crash), SIGKILL after 10 s; the directory removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


class PostgresLedger:
    """The shared ledger, read by the driver with the same two questions as SqliteLedger."""

    def __init__(self, server):
        self.server = server

    def counts(self):
        counts = {"pending": 0, "done": 0, "failed": 0}
        try:
            rows = self.server.sql("SELECT status, count(*) FROM actions GROUP BY status")
        except RuntimeError as e:
            if "does not exist" in str(e):
                return counts  # before the first instance created the schema
            raise
        counts.update({status: int(n) for status, n in rows})
        return counts

    def pending(self):
        """The (action key, threat id) pairs pending now."""
        try:
            return {(key, threat) for key, threat in
                    self.server.sql("SELECT action_key, threat_id FROM actions WHERE status = 'pending'")}
        except RuntimeError as e:
            if "does not exist" in str(e):
                return set()
            raise

    def integrity(self):
        """PostgreSQL has no integrity_check of a database; its own crash safety is not on trial.
        What is asked instead: every row has one of the ledger's three statuses."""
        rows = self.server.sql("SELECT count(*) FROM actions WHERE status NOT IN ('pending', 'done', 'failed')")
        return "ok" if rows and rows[0][0] == "0" else f"{rows[0][0]} rows with an unknown status"
