"""Start and stop the real services some integration tests need: a single-node SLURM (munged,
slurmctld, slurmd) and a PostgreSQL server, both from the Debian packages that
``.ci_support/setup.sh`` installs (``slurm-wlm munge postgresql``).

Rules kept here:

* Only root can start these daemons; when the machine cannot (not root, a binary missing, a daemon
  that dies or never becomes ready), :class:`ServiceUnavailable` is raised with the reason and the
  session fixtures in ``tests/integration/conftest.py`` turn it into a skip (or a failure on CI).
* A daemon that already runs is used as it is and left alone. Only the processes started here are
  stopped, by their pid, at the end of the session.
* Several test sessions on one machine (two engineers, or a CI job next to a local run) share
  the services: each session holds a lease (a file named after its pid in :data:`STATE_DIR`),
  and a service the fixtures started is stopped by the last session that leaves, by the pids
  recorded when it was started (checked against the process start time, so a reused pid is
  never hit). Start and stop happen under a file lock.
* ``/etc/slurm/slurm.conf`` is written only when there is none or when it is ours (its first line is
  :data:`SLURM_CONF_MARKER`); a foreign one is never touched: ours then goes to a private folder and
  ``SLURM_CONF`` points the daemons and all clients (sbatch, squeue, pysqa, executorlib) to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SLURM_CONF_MARKER = "# pyiron_appmlip test cluster: written by tests/services.py (safe to replace)"
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
PARTITION = "debug"
PG_USER = "pyiron"
PG_PASSWORD = "pyiron"
PG_DATABASE = "pyiron"
PG_HOST = "127.0.0.1"
# where the sessions that share a service record what the fixtures started and who uses it
STATE_DIR = Path(os.environ.get("APPMLIP_TEST_SERVICES_STATE", "/run/pyiron_appmlip-tests"))


class ServiceUnavailable(RuntimeError):
    """The service cannot be started on this machine; the message says why."""


def _need_root(what: str) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise ServiceUnavailable(f"starting {what} needs root (running as uid {os.geteuid()})")


def _need_binaries(what: str, names: list[str]) -> dict[str, str]:
    found = {
        n: shutil.which(n) or next((p for p in _sbin(n) if os.access(p, os.X_OK)), None)
        for n in names
    }
    missing = [n for n, p in found.items() if p is None]
    if missing:
        raise ServiceUnavailable(
            f"{what}: {', '.join(missing)} not found (install the Debian packages with "
            "`bash .ci_support/setup.sh`)"
        )
    return found


def _sbin(name: str) -> list[str]:
    return [f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}"]


def _running(comm: str) -> list[int]:
    """Pids of processes whose command name is exactly ``comm`` (detection only, never used to
    stop anything)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    pids.append(int(entry.name))
    return pids


def _tail(path: Path | str, n: int = 15) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:])


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process started here (by its pid), SIGKILL it if it is still there after
    ``timeout`` seconds, and reap it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _start_time(pid: int) -> int | None:
    """The process' start time (clock ticks since boot) and None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _identity(pid: int) -> dict:
    return {"pid": pid, "start": _start_time(pid)}


def _same_process(ident: dict) -> bool:
    return ident.get("start") is not None and _start_time(ident["pid"]) == ident["start"]


def stop_recorded(ident: dict, timeout: float = 15.0) -> None:
    """Stop a daemon started by a fixture of another (finished) session: SIGTERM the recorded
    pid if it is still that very process, wait, SIGKILL if needed."""
    if not _same_process(ident):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(ident["pid"], signal.SIGTERM)
    if not _wait_for(lambda: not _same_process(ident), timeout, 0.2):
        with contextlib.suppress(ProcessLookupError):
            os.kill(ident["pid"], signal.SIGKILL)
        _wait_for(lambda: not _same_process(ident), 5, 0.2)


class _Registry:
    """Per service: a lock, the record of what the fixtures started (json) and the leases of the
    sessions using it (one file per session pid)."""

    def __init__(self, service: str):
        self.service = service
        self.usable = True
        try:
            STATE_DIR.mkdir(parents=True, exist_ok=True)
            (STATE_DIR / f"{service}.users").mkdir(exist_ok=True)
        except OSError:
            self.usable = False  # not root: nothing of ours to stop anyway
        self.record_file = STATE_DIR / f"{service}.json"
        self.users = STATE_DIR / f"{service}.users"

    @contextlib.contextmanager
    def lock(self):
        if not self.usable:
            yield
            return
        with open(STATE_DIR / f"{self.service}.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read(self) -> dict | None:
        try:
            return json.loads(self.record_file.read_text())
        except (OSError, ValueError):
            return None

    def write(self, record: dict | None) -> None:
        if not self.usable:
            return
        if record is None:
            with contextlib.suppress(OSError):
                self.record_file.unlink()
        else:
            self.record_file.write_text(json.dumps(record))

    def join(self) -> None:
        if self.usable:
            (self.users / str(os.getpid())).write_text(json.dumps(_identity(os.getpid())))

    def leave(self) -> int:
        """Drop this session's lease and those of dead sessions; return how many remain."""
        if not self.usable:
            return 0
        with contextlib.suppress(OSError):
            (self.users / str(os.getpid())).unlink()
        left = 0
        for lease in self.users.iterdir():
            try:
                alive = _same_process(json.loads(lease.read_text()))
            except (OSError, ValueError):
                alive = False
            if alive:
                left += 1
            else:
                with contextlib.suppress(OSError):
                    lease.unlink()
        return left


def _run(cmd, timeout=30, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def _wait_for(predicate, timeout: float, interval: float = 0.3):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# SLURM
# --------------------------------------------------------------------------------------------


def machine_node() -> dict:
    """Name, CPU count and usable memory (MiB, 1 GiB kept back for the system) of this machine."""
    hostname = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    real_memory = max(mem_kib // 1024 - 1024, 256)
    return {"hostname": hostname, "cpus": cpus, "real_memory": real_memory}


def slurm_conf_text(
    hostname: str, cpus: int, real_memory: int, log_dir: str = "/var/log/slurm"
) -> str:
    return f"""{SLURM_CONF_MARKER}
ClusterName=local
SlurmctldHost={hostname}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile={log_dir}/slurmctld.log
SlurmdLogFile={log_dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName={hostname} CPUs={cpus} RealMemory={real_memory} State=UNKNOWN
PartitionName={PARTITION} Nodes={hostname} Default=YES MaxTime=INFINITE State=UP
"""


def _is_ours(path: Path) -> bool:
    try:
        with open(path) as f:
            return f.readline().rstrip("\n") == SLURM_CONF_MARKER
    except OSError:
        return False


@dataclass
class SlurmCluster:
    """A running single-node SLURM: the node name, partition, the slurm.conf in use and the
    processes started by :func:`start_slurm` (empty when everything already ran)."""

    hostname: str
    partition: str
    conf: str
    started: dict[str, subprocess.Popen] = field(default_factory=dict)
    env_set: dict[str, str | None] = field(default_factory=dict)
    log_dir: str = "/var/log/slurm"
    private_dir: str | None = None
    registry: _Registry | None = None

    def sinfo(self) -> str:
        return _run(["sinfo", "-N", "-h", "-o", "%N %P %t"]).stdout

    def _abort(self) -> None:
        """Undo a start that failed half-way (under the lock: nobody else uses these yet)."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.started.pop(name, None)
            if proc is not None:
                stop_process(proc)
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None
        self._restore_env()

    def _restore_env(self) -> None:
        for key, old in self.env_set.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self.env_set.clear()

    def stop(self) -> None:
        """Leave the cluster. The last session to leave stops the daemons the fixtures started,
        by pid, in reverse order (slurmd, slurmctld, munged); daemons that ran before any fixture
        are never touched."""
        reg = self.registry
        if reg is None:
            return self._abort()
        with reg.lock():
            if reg.leave() == 0:
                record = reg.read() or {"daemons": {}}
                daemons = record.get("daemons", {})
                if "slurmctld" in daemons and _same_process(daemons["slurmctld"]):
                    # all jobs on a cluster the fixtures started are the tests' own
                    with contextlib.suppress(Exception):
                        _run(["scancel", "--full", "--user", "root"], timeout=10)
                for name in ("slurmd", "slurmctld", "munged"):
                    proc = self.started.get(name)
                    ident = daemons.get(name)
                    if proc is not None and ident and ident["pid"] == proc.pid:
                        stop_process(proc)  # our own child: stop and reap it
                    elif ident:
                        stop_recorded(ident)
                if record.get("private_dir"):
                    shutil.rmtree(record["private_dir"], ignore_errors=True)
                reg.write(None)
        self.started.clear()
        self.registry = None
        self._restore_env()


def _munge_works() -> bool:
    try:
        cred = _run(["munge", "-n"], timeout=10)
        if cred.returncode != 0:
            return False
        return _run(["unmunge"], input=cred.stdout, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _ensure_munge_key() -> None:
    import grp
    import pwd

    try:
        uid, gid = pwd.getpwnam("munge").pw_uid, grp.getgrnam("munge").gr_gid
    except KeyError as err:
        raise ServiceUnavailable(
            "munge: no 'munge' user (is the munge package installed?)"
        ) from err
    MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
    os.chown(MUNGE_KEY.parent, uid, gid)
    os.chmod(MUNGE_KEY.parent, 0o700)
    if not MUNGE_KEY.exists():
        fd = os.open(MUNGE_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(1024))
        os.chown(MUNGE_KEY, uid, gid)
        os.chmod(MUNGE_KEY, 0o400)
    for d in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(d).mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, gid)


def _start_munged(exe: str, log_dir: Path) -> subprocess.Popen:
    _ensure_munge_key()
    out = open(log_dir / "munged.out", "ab")
    proc = subprocess.Popen(
        [exe, "--foreground"],
        user="munge",
        group="munge",
        extra_groups=[],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd="/",
        start_new_session=True,
    )
    out.close()  # the daemon has its own copy
    if (
        not _wait_for(lambda: proc.poll() is not None or _munge_works(), 20)
        or proc.poll() is not None
    ):
        stop_process(proc)
        raise ServiceUnavailable(
            "munged did not start:\n"
            + _tail(log_dir / "munged.out")
            + "\n"
            + _tail("/var/log/munge/munged.log")
        )
    return proc


def _start_daemon(name: str, exe: str, args: list[str], log_dir: Path) -> subprocess.Popen:
    with open(log_dir / f"{name}.out", "ab") as out:
        return subprocess.Popen(
            [exe, "-D", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )


def _node_state(hostname: str) -> str | None:
    try:
        res = _run(["sinfo", "-N", "-h", "-n", hostname, "-p", PARTITION, "-o", "%t"], timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    states = res.stdout.split()
    return states[0] if states else ""


def start_slurm(timeout: float = 60.0) -> SlurmCluster:
    """Bring up (or join) a single-node SLURM with partition ``debug`` whose node is idle, and
    take a lease on it for this session (:meth:`SlurmCluster.stop` gives it back)."""
    reg = _Registry("slurm")
    with reg.lock():
        record = reg.read()
        if record and not any(_same_process(d) for d in record.get("daemons", {}).values()):
            # the sessions that started them are gone and so are the daemons
            if record.get("private_dir"):
                shutil.rmtree(record["private_dir"], ignore_errors=True)
            reg.write(None)
            record = None
        env_set = {}
        if record and record.get("slurm_conf") and "SLURM_CONF" not in os.environ:
            env_set["SLURM_CONF"] = None  # a fixture's private slurm.conf is in use
            os.environ["SLURM_CONF"] = record["slurm_conf"]
        try:
            cluster = _start_slurm(timeout)
        except BaseException:
            for key in env_set:
                os.environ.pop(key, None)
            raise
        cluster.env_set.update(env_set)
        if cluster.started:
            record = record or {"daemons": {}}
            record["daemons"].update({n: _identity(p.pid) for n, p in cluster.started.items()})
            if cluster.private_dir is not None:
                record["private_dir"] = cluster.private_dir
                record["slurm_conf"] = cluster.conf
            reg.write(record)
        reg.join()
        cluster.registry = reg
    return cluster


def _start_slurm(timeout: float) -> SlurmCluster:
    bins = _need_binaries(
        "SLURM",
        [
            "munge",
            "unmunge",
            "munged",
            "slurmctld",
            "slurmd",
            "sinfo",
            "sbatch",
            "squeue",
            "scontrol",
        ],
    )
    running = {n: bool(_running(n)) for n in ("munged", "slurmctld", "slurmd")}
    if not all(running.values()):
        _need_root("munged/slurmctld/slurmd")
    node = machine_node()
    hostname = node["hostname"]
    log_dir = Path("/var/log/slurm")
    cluster = SlurmCluster(
        hostname=hostname, partition=PARTITION, conf=os.environ.get("SLURM_CONF", str(SLURM_CONF))
    )
    try:
        if not running["slurmctld"] and not running["slurmd"] and "SLURM_CONF" not in os.environ:
            # we start the whole cluster: our slurm.conf, at /etc/slurm if that place is free or ours
            if not SLURM_CONF.exists() or _is_ours(SLURM_CONF):
                conf_path = SLURM_CONF
            else:
                cluster.private_dir = tempfile.mkdtemp(prefix="appmlip-slurm-")
                conf_path = Path(cluster.private_dir) / "slurm.conf"
                cluster.env_set["SLURM_CONF"] = os.environ.get("SLURM_CONF")
                os.environ["SLURM_CONF"] = str(conf_path)
            text = slurm_conf_text(log_dir=str(log_dir), **node)
            conf_path.parent.mkdir(parents=True, exist_ok=True)
            if not conf_path.exists() or conf_path.read_text() != text:
                conf_path.write_text(text)
            cluster.conf = str(conf_path)
        conf_args = ["-f", cluster.conf] if cluster.conf != str(SLURM_CONF) else []
        for d in ("/var/spool/slurmctld", "/var/spool/slurmd", str(log_dir)):
            if not running["slurmctld"] or not running["slurmd"]:
                Path(d).mkdir(parents=True, exist_ok=True)
        if not running["munged"]:
            cluster.started["munged"] = _start_munged(bins["munged"], log_dir)
        elif not _munge_works():
            raise ServiceUnavailable("munged runs but `munge -n | unmunge` fails")
        if not running["slurmctld"]:
            # -c: a cluster of our own starts without the state (jobs, node states) of earlier runs
            cluster.started["slurmctld"] = _start_daemon(
                "slurmctld", bins["slurmctld"], ["-c", *conf_args], log_dir
            )
        if not running["slurmd"]:
            ctld_up = _wait_for(
                lambda: _run(["scontrol", "ping"], timeout=10).stdout.find("UP") >= 0, 20
            )
            if not ctld_up:
                raise ServiceUnavailable(
                    "slurmctld does not answer `scontrol ping`:\n"
                    + _tail(log_dir / "slurmctld.out")
                    + "\n"
                    + _tail(log_dir / "slurmctld.log")
                )
            cluster.started["slurmd"] = _start_daemon("slurmd", bins["slurmd"], conf_args, log_dir)

        resumed = False
        end = time.monotonic() + timeout
        state = None
        while time.monotonic() < end:
            for name, proc in cluster.started.items():
                if proc.poll() is not None:
                    raise ServiceUnavailable(
                        f"{name} exited with {proc.returncode}:\n"
                        + _tail(log_dir / f"{name}.out")
                        + "\n"
                        + _tail(log_dir / f"{name}.log")
                    )
            state = _node_state(hostname)
            # a cluster that already ran may be busy with other jobs; ours must be idle
            if state == "idle" or (not cluster.started and state in ("mix", "alloc")):
                return cluster
            if state == "":
                raise ServiceUnavailable(
                    f"SLURM runs but node {hostname} is not in a partition '{PARTITION}':\n{cluster.sinfo()}"
                )
            if (
                state
                and state.startswith(("down", "drain", "drng", "fail"))
                and not state.endswith("*")
                and not resumed
            ):
                if cluster.started:
                    _run(["scontrol", "update", f"nodename={hostname}", "state=resume"], timeout=10)
                    resumed = True
            time.sleep(0.5)
        raise ServiceUnavailable(
            f"node {hostname} did not become idle within {timeout:.0f} s (state {state!r}):\n"
            + _tail(log_dir / "slurmd.log")
            + "\n"
            + _tail(log_dir / "slurmctld.log")
        )
    except BaseException:
        cluster._abort()
        raise


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A running PostgreSQL cluster with user and database ``pyiron`` (password ``pyiron``)."""

    version: str
    cluster: str
    port: int
    started: bool = False
    host: str = PG_HOST
    user: str = PG_USER
    password: str = PG_PASSWORD
    database: str = PG_DATABASE
    data_dir: str = ""
    registry: _Registry | None = None

    def postmaster(self) -> dict | None:
        """Pid and start time of the running server (from ``postmaster.pid``)."""
        try:
            pid = int(Path(self.data_dir, "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        ident = _identity(pid)
        return ident if ident["start"] is not None else None

    def pyiron_env(self) -> dict[str, str]:
        """pyiron_base 0.15's environment variables for this server (sic ``PYIRONSQHOST``: that
        version reads the host from the variable without the L)."""
        return {
            "PYIRONSQLTYPE": "Postgres",
            "PYIRONSQHOST": f"{self.host}:{self.port}" if self.port != 5432 else self.host,
            "PYIRONSQLDATABASE": self.database,
            "PYIRONUSER": self.user,
            "PYIRONSQLUSERKEY": self.password,
        }

    def connect(self):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
        )

    def _abort(self) -> None:
        if self.started:
            _run(["pg_ctlcluster", self.version, self.cluster, "stop"], timeout=60)
            self.started = False

    def stop(self) -> None:
        """Leave the server; the last session to leave stops it if a fixture started it (and it
        is still the postmaster the fixture started)."""
        reg = self.registry
        if reg is None:
            return self._abort()
        with reg.lock():
            if reg.leave() == 0:
                record = reg.read()
                if record and (
                    record.get("postmaster") is None or _same_process(record["postmaster"])
                ):
                    _run(
                        ["pg_ctlcluster", record["version"], record["cluster"], "stop"], timeout=60
                    )
                reg.write(None)
        self.started = False
        self.registry = None


def _clusters() -> list[dict]:
    res = _run(["pg_lsclusters", "--no-header"])
    out = []
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append(
                {
                    "version": parts[0],
                    "cluster": parts[1],
                    "port": int(parts[2]),
                    "status": parts[3],
                    "data_dir": parts[5] if len(parts) > 5 else "",
                }
            )
    return out


def _psql(port: int, sql: str) -> subprocess.CompletedProcess:
    return _run(
        ["psql", "-p", str(port), "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        user="postgres",
        group="postgres",
        extra_groups=[],
        cwd="/",
        timeout=30,
    )


def _can_login(server: PostgresServer):
    def attempt() -> bool:
        try:
            server.connect().close()
        except Exception:
            return False
        return True

    return attempt


def _accepts_connections(server: PostgresServer) -> bool:
    exe = shutil.which("pg_isready")
    if exe is None:
        return _psql(server.port, "SELECT 1").returncode == 0
    return _run([exe, "-q", "-h", server.host, "-p", str(server.port)], timeout=10).returncode == 0


def start_postgres(timeout: float = 60.0) -> PostgresServer:
    """Start (or join) the Debian PostgreSQL cluster (the newest installed version, cluster
    ``main`` preferred), make sure user and database ``pyiron`` exist, and take a lease on it for
    this session (:meth:`PostgresServer.stop` gives it back)."""
    reg = _Registry("postgres")
    with reg.lock():
        record = reg.read()
        if record and record.get("postmaster") and not _same_process(record["postmaster"]):
            reg.write(None)  # the server a fixture started is no longer running
            record = None
        server = _start_postgres(timeout)
        if server.started:
            reg.write(
                {
                    "version": server.version,
                    "cluster": server.cluster,
                    "postmaster": server.postmaster(),
                }
            )
        reg.join()
        server.registry = reg
    return server


def _start_postgres(timeout: float) -> PostgresServer:
    _need_binaries("PostgreSQL", ["pg_lsclusters", "pg_ctlcluster", "psql"])
    try:
        import psycopg2  # noqa: F401
    except ImportError as err:
        raise ServiceUnavailable(
            "psycopg2 is not installed (pyproject's test extra has psycopg2-binary)"
        ) from err
    clusters = _clusters()
    if not clusters:
        versions = sorted(
            (
                p.name
                for p in Path("/usr/lib/postgresql").glob("*")
                if (p / "bin" / "postgres").exists()
            ),
            key=lambda v: [int(x) for x in re.findall(r"\d+", v)],
        )
        if not versions:
            raise ServiceUnavailable("PostgreSQL: no server installed under /usr/lib/postgresql")
        _need_root("PostgreSQL (pg_createcluster)")
        res = _run(["pg_createcluster", versions[-1], "main"], timeout=120)
        if res.returncode != 0:
            raise ServiceUnavailable(
                f"pg_createcluster {versions[-1]} main failed: {res.stderr.strip()}"
            )
        clusters = _clusters()
    online = [c for c in clusters if c["status"] == "online"]

    def key(c):
        return (c["cluster"] == "main", [int(x) for x in re.findall(r"\d+", c["version"])])

    pick = max(online or clusters, key=key)
    server = PostgresServer(
        version=pick["version"],
        cluster=pick["cluster"],
        port=pick["port"],
        data_dir=pick["data_dir"],
    )
    try:
        if pick["status"] != "online":
            _need_root("PostgreSQL (pg_ctlcluster)")
            res = _run(["pg_ctlcluster", server.version, server.cluster, "start"], timeout=timeout)
            if res.returncode != 0:
                raise ServiceUnavailable(
                    f"pg_ctlcluster {server.version} {server.cluster} start failed: "
                    + (res.stderr or res.stdout).strip()
                )
            server.started = True
        if not _wait_for(lambda: _accepts_connections(server), timeout):
            raise ServiceUnavailable(
                f"PostgreSQL {server.version}/{server.cluster} does not accept connections on "
                f"{server.host}:{server.port}"
            )
        if _can_login(server)():
            return server  # user and database are there already
        _need_root("PostgreSQL (creating user and database pyiron with psql as postgres)")
        if (
            _psql(server.port, f"SELECT 1 FROM pg_roles WHERE rolname='{PG_USER}'").stdout.strip()
            != "1"
        ):
            res = _psql(server.port, f"CREATE USER {PG_USER} WITH PASSWORD '{PG_PASSWORD}'")
            if res.returncode != 0:
                raise ServiceUnavailable(f"CREATE USER {PG_USER} failed: {res.stderr.strip()}")
        if (
            _psql(
                server.port, f"SELECT 1 FROM pg_database WHERE datname='{PG_DATABASE}'"
            ).stdout.strip()
            != "1"
        ):
            res = _psql(server.port, f"CREATE DATABASE {PG_DATABASE} OWNER {PG_USER}")
            if res.returncode != 0:
                raise ServiceUnavailable(
                    f"CREATE DATABASE {PG_DATABASE} failed: {res.stderr.strip()}"
                )
        try:
            server.connect().close()
        except Exception as err:
            raise ServiceUnavailable(
                f"cannot log in to PostgreSQL as {PG_USER}@{PG_HOST}:{server.port}: {err}"
            ) from err
        return server
    except BaseException:
        server._abort()
        raise


# --------------------------------------------------------------------------------------------
# What the SLURM tests read back: slurmctld's view of a job, pysqa's submission template for
# pyiron's queue adapter, and the tasks executorlib's SlurmClusterExecutor left in its cache
# --------------------------------------------------------------------------------------------

#: SLURM job states of a job that has not ended yet
ACTIVE_JOB_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED")


def scontrol_job(job_id) -> dict:
    """``scontrol show job`` of one job as a dict (empty once slurmctld has forgotten it;
    :func:`slurm_conf_text` keeps finished jobs for ``MinJobAge=300`` seconds)."""
    out = _run(["scontrol", "show", "job", "-o", str(job_id)], timeout=20).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


def final_job_info(job_id, timeout: float = 30.0) -> dict:
    """``scontrol show job`` once the job has left the active states (a result can come back a
    moment before its SLURM job has ended)."""
    end = time.monotonic() + timeout
    while True:
        info = scontrol_job(job_id)
        if info.get("JobState") not in ACTIVE_JOB_STATES or time.monotonic() > end:
            return info
        time.sleep(0.3)


def squeue_by_name(name: str) -> dict[int, str]:
    """``{SLURM job id: state}`` of the jobs named ``name``, finished ones included (``squeue -t
    all`` lists them as long as slurmctld remembers them)."""
    out = _run(["squeue", "-h", "-t", "all", "-n", name, "-o", "%i %T"], timeout=20).stdout
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            jobs[int(parts[0])] = parts[1]
    return jobs


def pyiron_job_environment() -> dict[str, str]:
    """What a SLURM job needs to be the same pyiron as the test process: this virtualenv's
    python first in PATH, HOME and every PYIRON* setting (the test session's SQLite database and
    resource path), and the thread limits of tests/conftest.py."""
    import sys

    env = {k: v for k, v in os.environ.items() if k.startswith("PYIRON")}
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")])
    env["HOME"] = os.environ.get("HOME", str(Path.home()))
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def pysqa_slurm_template(partition: str, env: dict[str, str]) -> str:
    """A pysqa jinja2 template for SLURM. ``--export=NONE``: the job gets exactly the environment
    exported here, not whatever the submitting process happens to have."""
    import shlex

    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
    return f"""#!/bin/bash
#SBATCH --output=time.out
#SBATCH --job-name={{{{job_name}}}}
#SBATCH --chdir={{{{working_directory}}}}
#SBATCH --partition={partition}
#SBATCH --export=NONE
#SBATCH --ntasks={{{{cores}}}}
{{%- if run_time_max %}}
#SBATCH --time={{{{ [1, run_time_max // 60]|max }}}}
{{%- endif %}}
{{%- if memory_max %}}
#SBATCH --mem={{{{memory_max}}}}G
{{%- endif %}}
{{% raw %}}
{exports}
{{% endraw %}}
echo "SLURM_JOB_ID=$SLURM_JOB_ID"

{{{{command}}}}
"""


def pysqa_queue_yaml(queue: str, script: str = "slurm.sh") -> str:
    """pysqa's ``queue.yaml`` with one SLURM queue ``queue`` (1 core) using ``script``."""
    return (
        "queue_type: SLURM\n"
        f"queue_primary: {queue}\n"
        "queues:\n"
        f"  {queue}: {{cores_min: 1, cores_max: 1, run_time_max: 3600, script: {script}}}\n"
    )


@dataclass
class CachedTask:
    """One task executorlib's file-based executors ran: its file in the cache directory, the
    SLURM job id it was submitted as, the function and arguments, and its result."""

    key: str
    file: str
    queue_id: int | None
    function: str
    args: tuple
    kwargs: dict
    finished: bool
    result: object


def executorlib_tasks(cache_directory: str, unfinished: bool = False) -> list[CachedTask]:
    """The finished tasks (``<key>_o.h5``) in an executorlib cache directory, with
    ``unfinished`` also those that never wrote a result (``<key>_i.h5``, e.g. a SLURM job that
    was cancelled). Read it only when no executor uses the directory any more (HDF5 locks files
    while they are written)."""
    from executorlib.standalone.hdf import get_output, get_queue_id, load

    tasks = []
    suffixes = ("_o.h5", "_i.h5") if unfinished else ("_o.h5",)
    for suffix in suffixes:
        for path in sorted(Path(cache_directory).glob("*" + suffix)):
            data = load(str(path))
            if suffix == "_o.h5":
                done, ok, result = get_output(str(path))
                finished = bool(done and ok)
            else:
                finished, result = False, None
            tasks.append(
                CachedTask(
                    key=path.name[: -len(suffix)],
                    file=str(path),
                    queue_id=get_queue_id(str(path)),
                    function=getattr(data["fn"], "__name__", repr(data["fn"])),
                    args=tuple(data["args"]),
                    kwargs=dict(data["kwargs"]),
                    finished=finished,
                    result=result,
                )
            )
    return tasks


def wait_for_queue_job(job, timeout: float = 180.0, final=("finished",)) -> None:
    """Poll a pyiron job submitted through pyiron's queue adapter until its status is one of
    ``final``; raise an AssertionError with its SLURM record and output (``time.out``) if it ends
    otherwise, if SLURM is done with it for 15 s without pyiron hearing of it, or on timeout."""
    end = time.monotonic() + timeout
    gone_since = None
    while time.monotonic() < end:
        job.refresh_job_status()
        if job.status.string in final:
            return
        if job.status.string in ("aborted", "not_converged", "finished"):
            break
        state = scontrol_job(job.server.queue_id).get("JobState")
        if state not in (*ACTIVE_JOB_STATES, None):
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > 15:
                break
        time.sleep(1)
    out = Path(job.working_directory) / "time.out"
    log = out.read_text()[-3000:] if out.exists() else "(no time.out)"
    raise AssertionError(
        f"pyiron job {job.job_name} is {job.status.string}; SLURM job {job.server.queue_id}: "
        f"{scontrol_job(job.server.queue_id)}\n{log}"
    )
