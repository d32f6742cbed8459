"""Start and stop the real services some integration tests need: a single-node SLURM (munged,
slurmctld, slurmd) and a PostgreSQL server, both from the Debian packages that
``.ci_support/setup.sh`` installs (``slurm-wlm munge postgresql``).

Rules kept here:

* Only root can start these daemons; when the machine cannot (not root, a binary missing, a daemon
  that dies or never becomes ready), :class:`ServiceUnavailable` is raised with the reason and the
  session fixtures in ``tests/integration/conftest.py`` turn it into a skip (or a failure on CI).
* A daemon that already runs is used as it is and left alone. Only the processes started here are
  stopped, by their pid, at the end of the session.
* ``/etc/slurm/slurm.conf`` is written only when there is none or when it is ours (its first line is
  :data:`SLURM_CONF_MARKER`); a foreign one is never touched: ours then goes to a private folder and
  ``SLURM_CONF`` points the daemons and all clients (sbatch, squeue, pysqa, executorlib) to it.
"""

from __future__ import annotations

import contextlib
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

    def sinfo(self) -> str:
        return _run(["sinfo", "-N", "-h", "-o", "%N %P %t"]).stdout

    def stop(self) -> None:
        """Stop what was started here, by pid, in reverse order (slurmd, slurmctld, munged)."""
        if "slurmctld" in self.started and self.started["slurmctld"].poll() is None:
            # all jobs on a cluster this session started are the tests' own
            with contextlib.suppress(Exception):
                _run(["scancel", "--full", "--user", "root"], timeout=10)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.started.pop(name, None)
            if proc is not None:
                stop_process(proc)
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None
        for key, old in self.env_set.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self.env_set.clear()


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
    """Bring up (or find) a single-node SLURM with partition ``debug`` whose node is idle."""
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
        cluster.stop()
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

    def stop(self) -> None:
        if self.started:
            _run(["pg_ctlcluster", self.version, self.cluster, "stop"], timeout=60)
            self.started = False


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
    """Start (or find) the Debian PostgreSQL cluster (the newest installed version, cluster ``main``
    preferred) and make sure user and database ``pyiron`` exist."""
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
    server = PostgresServer(version=pick["version"], cluster=pick["cluster"], port=pick["port"])
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
        server.stop()
        raise
