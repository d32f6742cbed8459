"""The paper command's sweep units as SLURM jobs on the local one-node SLURM: 1 worker vs 2.

Writes a stand-in (``reproduction.paper_standin``, ``--n`` configurations) into a temporary
folder, computes its descriptor store once (``--executor serial``, one repetition of a small
design) and copies it into one output folder per run, so that every run starts from the same
store and only the sweep units are timed. Then it runs the paper command

    python -m pyiron_appmlip.reproduction.paper --engine units --executor slurm --workers W

with W = 1 and then 2 (``--workers W``: at most W SLURM jobs submitted at once, one core each,
so at most W units run at once; the units' run intervals inside their jobs are checked for
that). The default design has 33 units (8 repetitions: 24 of the sampler comparison, 8 of the
front, 1 of the whole pool) of 4-6 s of wall time each at 2Jmax 6, handed to SLURM as one
batch. Every job gets one BLAS/OpenMP thread (``OPENBLAS_NUM_THREADS=1`` and friends, exported
to the jobs by sbatch; a probe job reports what it saw).

It starts the local SLURM the way the integration tests do (``tests/services.py``: joins a
running one, starts munged/slurmctld/slurmd otherwise, and on exit stops, by pid, only what it
started) and cancels its own SLURM jobs on an error or Ctrl-C.

Prints, per run: the units' span (the command hands the three grids' units to the executor as
one batch, largest first; from their submission to the last one done: the headline number),
the sweep stage (from the grids' start to the rows being stored, with the serial work before
the units, test statistics and leverage scores; descriptors reused) and the
whole command, the units' own run times inside their jobs (executorlib records them), the CPU
time of the command's own process (it shares the cores with its jobs) and the most jobs
slurmctld shows running at once; then the ratio 1 worker / 2 workers beside the
target (at least 1.8x) and the SLURM overhead per unit.

    .venv/bin/python benchmarks/bench_paper_slurm.py                                # ~6 min
    .venv/bin/python benchmarks/bench_paper_slurm.py --n 120 --twojmax 4 --sizes 20 40 \\
        --repetitions 2                                                             # ~2 min
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # this process and (through sbatch's export) every job

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = 1.8
#: the command's progress lines: a 2Jmax's grids start (one batch of units); all rows of a
#: 2Jmax are stored
GRID_LINE = re.compile(r"^2Jmax (\d+): grids (.*) as one batch$")
GRID_UNITS = re.compile(r"(\w+) \((\d+) units\)")
#: the units of the batch are handed to the executor; one unit is done
SUBMIT_LINE = re.compile(r"^2Jmax (\d+): (\d+) units \(")
DONE_LINE = re.compile(r"^2Jmax (\d+): \w+ repetition \d+ done")
ROWS_LINE = re.compile(r"^2Jmax (\d+): (\d+) rows \((\d+) computed")


def _services():
    """tests/services.py, the integration tests' start and stop of the local SLURM."""
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import services

    return services


def _probe_threads():
    """What a SLURM job sees: its thread variables and the BLAS threads numpy would use."""
    import os

    import threadpoolctl

    blas = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    env = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    return {"env": env, "blas_threads": blas, "slurm_job": os.environ.get("SLURM_JOB_ID")}


def _job_environment() -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # progress lines arrive as they are printed
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (REPO, os.environ.get("PYTHONPATH")) if p
    )  # this checkout's package, also in the jobs
    return env


def _command(args, data, out, executor, workers=None, design=None) -> list[str]:
    design = design or {
        "--sizes": args.sizes,
        "--repetitions": [args.repetitions],
        "--weights": args.weights,
    }
    cmd = [sys.executable, "-m", "pyiron_appmlip.reproduction.paper", "--data", data]
    cmd += ["--out", out, "--twojmax", str(args.twojmax), "--engine", "units", "--no-figures"]
    cmd += ["--executor", executor]
    if executor == "slurm":
        cmd += ["--partition", args.partition, "--workers", str(workers)]
    for key, values in design.items():
        cmd += [key, *map(str, values)]
    return cmd


def _run(cmd, log_path, running: dict) -> dict:
    """Run the command; time stamp its progress lines; return the times."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    marks = []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_job_environment(),
            cwd=os.path.dirname(log_path),
        )
        running["proc"] = proc
        for line in proc.stdout:
            now = time.perf_counter() - start
            log.write(f"{now:9.2f} {line}")
            marks.append((now, line.rstrip("\n")))
        proc.wait()
        running.pop("proc", None)
    total = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"the paper command failed ({proc.returncode}); see {log_path}")
    # per batch (2Jmax): [grids, units, start, units submitted, last unit done]
    grids, ends, computed = [], [], []
    for t, line in marks:
        if m := GRID_LINE.match(line):
            parts = GRID_UNITS.findall(m.group(2))
            name = "+".join(n for n, _ in parts)
            grids.append([name, sum(int(u) for _, u in parts), t, None, None])
        elif grids and SUBMIT_LINE.match(line):
            grids[-1][3] = t
        elif grids and DONE_LINE.match(line):
            grids[-1][4] = t
        elif m := ROWS_LINE.match(line):
            ends.append(t)
            computed.append(int(m.group(3)))
    if not grids or not ends or any(g[3] is None or g[4] is None for g in grids):
        raise RuntimeError(f"no complete sweep progress lines in {log_path}")
    bounds = [g[2] for g in grids] + [ends[-1]]
    return {
        "total": total,
        "sweep": ends[-1] - grids[0][2],
        "units_span": sum(g[4] - g[3] for g in grids),
        # grids, units, the batch's time, the time from its submission to its last unit
        "grids": [
            (g[0], g[1], bounds[k + 1] - bounds[k], g[4] - g[3]) for k, g in enumerate(grids)
        ],
        "rows": sum(computed),
        # CPU seconds of the command's own process (its SLURM jobs run under slurmd)
        "command_cpu": cpu,
    }


def _slurm_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None


def _jobs(services, cache) -> dict:
    """Units' run times inside their jobs (executorlib's record) and the most SLURM jobs of
    this run that slurmctld shows running at once (1 s resolution of its start/end times)."""
    from executorlib.standalone.hdf import get_queue_id, get_runtime

    runtimes, queue_ids, spans = [], set(), []
    for folder, _, names in os.walk(cache):
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(("_o.h5", "_i.h5")):
                qid = get_queue_id(path)  # the input file becomes the output file
                if qid is not None:
                    queue_ids.add(int(qid))
            if name.endswith("_o.h5"):
                runtimes.append(get_runtime(path))
                # the job renames the file to _o.h5 when the unit's function has returned
                end = os.stat(path).st_mtime
                spans.append((end - runtimes[-1], end))
    restarts, jobs = 0, []
    for qid in sorted(queue_ids):
        info = services.scontrol_job(qid)
        restarts += int(info.get("Restarts", 0) or 0)
        start, end = _slurm_time(info.get("StartTime")), _slurm_time(info.get("EndTime"))
        if start is not None and end is not None:
            jobs.append((start, end))
    return {
        "runtimes": runtimes,
        "jobs": len(queue_ids),
        "most_units": _most_at_once(spans),
        # a job's start-up and end overlap the previous unit's job by up to a second or so
        "most_jobs": _most_at_once(jobs),
        "restarts": restarts,
    }


def _most_at_once(spans) -> int:
    """The largest number of (start, end) intervals that overlap at one moment."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = running = 0
    for _, step in events:  # an end sorts before a start at the same moment
        running += step
        most = max(most, running)
    return most


def _cancel_jobs(caches) -> None:
    """scancel the SLURM jobs this benchmark submitted (by their ids in its caches)."""
    from executorlib.standalone.hdf import get_queue_id

    ids = []
    for cache in caches:
        for folder, _, names in os.walk(cache):
            for name in names:
                if name.endswith("_i.h5"):
                    qid = get_queue_id(os.path.join(folder, name))
                    if qid is not None:
                        ids.append(str(int(qid)))
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=30)


def _foreign_jobs(mine: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True, timeout=30
    ).stdout
    return [line for line in out.splitlines() if mine not in line]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=600, help="stand-in configurations")
    parser.add_argument("--twojmax", type=int, default=6)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 280])
    parser.add_argument("--repetitions", type=int, default=8)
    parser.add_argument("--weights", type=float, nargs="+", default=[50.0, 150.0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partition", default="debug")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    services = _services()
    root = tempfile.mkdtemp(prefix="bench-paper-slurm-")
    running: dict = {}
    caches: list[str] = []

    def stop(signum, frame):  # SIGTERM like Ctrl-C: clean up below
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    cluster = None
    try:
        cluster = services.start_slurm()
        print(f"SLURM: node {cluster.hostname}, partition {args.partition}; folder {root}")
        _measure(args, services, root, running, caches)
    finally:
        proc = running.get("proc")
        if proc is not None and proc.poll() is None:
            services.stop_process(proc)
        _cancel_jobs(caches)
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _measure(args, services, root, running, caches):
    import executorlib

    from pyiron_appmlip.reproduction.paper_standin import write_standin

    data = os.path.join(root, "data")
    write_standin(data, n=args.n, seed=0)

    # what a job sees (the same environment and executor options as the runs below)
    probe_cache = os.path.join(root, "probe")
    caches.append(probe_cache)
    with executorlib.SlurmClusterExecutor(
        cache_directory=probe_cache, resource_dict={"cores": 1, "partition": args.partition}
    ) as exe:
        seen = exe.submit(_probe_threads).result()
    print(f"a SLURM job (job {seen['slurm_job']}) sees {seen['env']}, BLAS threads "
          f"{seen['blas_threads']}")  # fmt: skip

    # the descriptor store, once (one repetition of a small design computes it)
    base = os.path.join(root, "descriptors_run")
    tiny = {"--sizes": [min(args.sizes)], "--repetitions": [1], "--weights": [150.0]}
    start = time.perf_counter()
    subprocess.run(
        _command(args, data, base, "serial", design=tiny),
        check=True,
        capture_output=True,
        env=_job_environment(),
    )
    print(f"descriptors of the stand-in ({args.n} configurations, 2Jmax {args.twojmax}) and "
          f"a design of one repetition: {time.perf_counter() - start:.1f} s")  # fmt: skip

    results = {}
    for workers in args.workers:
        out = os.path.join(root, f"w{workers}")
        shutil.copytree(os.path.join(base, "descriptors"), os.path.join(out, "descriptors"))
        cache = os.path.join(out, "executor")
        caches.append(cache)
        before = _foreign_jobs(os.path.basename(cache))
        cmd = _command(args, data, out, "slurm", workers)
        res = _run(cmd, os.path.join(root, f"w{workers}.log"), running)
        res.update(_jobs(services, cache))
        res["foreign"] = before + _foreign_jobs(os.path.basename(cache))
        with open("/proc/loadavg") as fh:
            res["load"] = fh.read().split()[0]
        results[workers] = res
        run = res["runtimes"]
        print(
            f"\n{workers} worker{'s' if workers > 1 else ''}: sweep {res['sweep']:.1f} s "
            f"(whole command {res['total']:.1f} s), {res['rows']} rows, {res['jobs']} SLURM "
            f"jobs; at most {res['most_units']} units running at once (SLURM: at most "
            f"{res['most_jobs']} jobs, 1 s resolution), "
            f"load average after {res['load']}"
        )
        for name, units, seconds, span in res["grids"]:
            print(f"    {name:>10}: {units:3d} units {seconds:8.1f} s ({span:.1f} s from their "
                  "submission to the last one done)")  # fmt: skip
        print(f"    units' span (summed over the 2Jmax values): {res['units_span']:.1f} s")
        print(
            f"    the command's own process used {res['command_cpu']:.1f} s of CPU (user + "
            f"system), {res['command_cpu'] / res['total']:.2f} cores on average over its run, "
            "beside its SLURM jobs on the same cores"
        )
        if res["restarts"]:
            print(
                f"    WARNING: SLURM requeued jobs {res['restarts']} times (a node that did not "
                "respond, e.g. an overloaded machine): these times are not valid"
            )
        if run:
            print(
                f"    units' own run time in their jobs: sum {sum(run):.1f} s, mean "
                f"{sum(run) / len(run):.2f} s, min {min(run):.2f} s, max {max(run):.2f} s"
            )
        if res["foreign"]:
            print(f"    other SLURM jobs seen around this run: {res['foreign']}")

    if 1 in results and 2 in results:
        one, two = results[1], results[2]
        ratio = one["units_span"] / two["units_span"]
        units = len(one["runtimes"])
        overhead = (one["units_span"] - sum(one["runtimes"])) / max(units, 1)
        print(f"\n{'grids':>28} | units | 1 worker s | 2 workers s | ratio (units' span)")
        for g1, g2 in zip(one["grids"], two["grids"], strict=True):
            print(f"{g1[0]:>28} | {g1[1]:5d} | {g1[3]:10.1f} | {g2[3]:11.1f} | {g1[3] / g2[3]:.2f}")
        print(
            f"\nper unit with 1 worker: {one['units_span'] / max(units, 1):.2f} s of wall time, "
            f"of which {sum(one['runtimes']) / max(units, 1):.2f} s inside the unit's function "
            f"(reading its input included) and {overhead:.2f} s SLURM submission, job start-up "
            "and hand-back of the result"
        )
        print(
            f"sweep stage (units and the serial work before them: test statistics, leverage, rows "
            f"stored): 1 worker {one['sweep']:.1f} s, 2 workers {two['sweep']:.1f} s, ratio "
            f"{one['sweep'] / two['sweep']:.2f}x; whole command {one['total']:.1f} s vs "
            f"{two['total']:.1f} s ({one['total'] / two['total']:.2f}x)"
        )
        verdict = "reached" if ratio >= TARGET else "NOT reached"
        print(
            f"sweep units on the local SLURM ({units} units, 2Jmax {args.twojmax}, stand-in "
            f"{args.n}): 1 worker {one['units_span']:.1f} s, 2 workers {two['units_span']:.1f} s,"
            f" ratio {ratio:.2f}x (target >= {TARGET}x: {verdict})"
        )


if __name__ == "__main__":
    main()
