"""pyiron on a real PostgreSQL server: a tiny candidates -> GPAW labelling -> descriptors -> fit
-> sweep pipeline whose jobs pyiron records in PostgreSQL, checked through pyiron's job table,
directly with psycopg2, and by reloading every job in a fresh process.

pyiron's database settings are global state, so the pyiron part runs in subprocesses (this file
run as a script) with pyiron's documented environment variables for PostgreSQL; the SQLite
settings of the rest of the test session are never touched.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = {
    "cand": "AppmlipCandidates",
    "labels_1": "AppmlipLabelling",
    "desc_4": "AppmlipDescriptors",
    "fit": "AppmlipFit",
    "sweep": "AppmlipSweep",
}
#: the sweep's grid: samplers x subset sizes x weights, one level
SAMPLERS = ["all", "random"]
SUBSET_SIZES = [2, 3]
WEIGHTS = [[150.0, 1.0], [12.0, 1.0]]


def _pyiron_env(server) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYIRON")}
    env.update(server.pyiron_env())
    env["PYIRONPROJECTCHECKENABLED"] = "False"
    # pyiron keeps a PostgreSQL connection open with a non-daemon watchdog thread that closes it
    # after this many idle seconds -- and holds the interpreter at exit until then (default 60)
    env["PYIRONCONNECTIONTIMEOUT"] = "2"
    env["PYIRONRESOURCEPATHS"] = os.environ.get("PYIRONRESOURCEPATHS", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _in_subprocess(server, mode: str, path: str, timeout: float = 600) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, mode, path],
        env=_pyiron_env(server),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, f"{mode} failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_pipeline_on_postgres(postgres_server, tmp_path):
    path = str(tmp_path / "pg_pipeline")
    try:
        run = _in_subprocess(postgres_server, "run", path)
        # pyiron (running on PostgreSQL) lists every job, finished
        assert run["sql_type"] == "Postgres"
        table = run["job_table"]
        by_name = {row["job"]: row for row in table}
        for name, cls in JOBS.items():
            assert by_name[name]["hamilton"] == cls
        assert {row["status"] for row in table} == {"finished"}, table
        children = [row for row in table if row["masterid"] == run["ids"]["labels_1"]]
        assert len(children) == run["n_structures"] >= 2
        assert len(table) == len(JOBS) + len(children)

        # the rows are in PostgreSQL itself, not in a SQLite file somewhere
        with postgres_server.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT id, job, status, hamilton, masterid FROM jobs_pyiron "
                "WHERE coalesce(projectpath, '') || project LIKE %s ORDER BY id",
                (path.rstrip("/") + "/%",),
            )
            rows = cur.fetchall()
        conn.close()
        assert {r[0] for r in rows} == {row["id"] for row in table}
        assert {r[1]: r[3] for r in rows if r[1] in JOBS} == JOBS
        assert {r[2] for r in rows} == {"finished"}

        # a fresh process reloads every job from the database and its HDF5 file
        again = _in_subprocess(postgres_server, "reload", path)
        assert again["ids"] == run["ids"]
        assert again["n_labels"] == run["n_structures"]
        assert again["n_descriptor_configurations"] == run["n_structures"]
        assert again["fit_rows"] == 1 and again["fit_coefficients"] >= again["p"]
        assert again["n_candidates"] == run["n_structures"]
        # the sweep: its rows, built from the labelling and descriptors jobs of this database
        sweep = again["sweep"]
        assert sweep["samplers"] == sorted(SAMPLERS)
        # "all": one row per weight; "random": one per subset size and weight
        assert sweep["rows"] == len(WEIGHTS) * (1 + len(SUBSET_SIZES))
        assert sweep["subset_sizes"] == sorted({*SUBSET_SIZES, sweep["n_train"]})
        assert sweep["n_train"] + sweep["n_test"] == run["n_structures"]
        assert sweep["finite_errors"]
        assert sweep["descriptors_jobs"] == [run["ids"]["desc_4"]]
        assert sweep["labelling_jobs"] == [run["ids"]["labels_1"]]
        assert sweep["model_coefficients"] == again["p"] + 1
    finally:
        _in_subprocess(postgres_server, "cleanup", path, timeout=300)
    with postgres_server.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM jobs_pyiron WHERE coalesce(projectpath, '') || project LIKE %s",
            (path.rstrip("/") + "/%",),
        )
        assert cur.fetchone()[0] == 0
    conn.close()


# ---- the pyiron side, run in a subprocess with the PostgreSQL environment -------------------


def _project(path):
    from pyiron_base import state

    state.update()
    assert state.settings.configuration["sql_type"] == "Postgres", state.settings.configuration
    from pyiron_appmlip import Project

    return state, Project(path)


def _run(path):
    state, pr = _project(path)
    cand = pr.create.job.AppmlipCandidates("cand")
    cand.input.generator = "rattled_strained"
    cand.input.n_structures = 6
    cand.input.seed = 3
    cand.input.options = {"max_atoms": 2}
    cand.run()
    structures = cand.structures

    lab = pr.create.job.AppmlipLabelling("labels_1")
    lab.structures = structures
    lab.level = 1
    lab.engine = "gpaw"
    lab.run()

    desc = pr.create.job.AppmlipDescriptors("desc_4")
    desc.structures = structures
    desc.input.twojmax = 4
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()

    fit = pr.create.job.AppmlipFit("fit")
    fit.set_descriptors(desc)
    fit.add_labels(lab)
    fit.weights = [150]
    fit.run()

    sweep = pr.create.job.AppmlipSweep("sweep")
    sweep.add_descriptors(desc)
    sweep.add_labels(lab)
    sweep.input.samplers = SAMPLERS
    sweep.input.subset_sizes = SUBSET_SIZES
    sweep.input.weights = WEIGHTS
    sweep.input.executor = "serial"
    sweep.run()

    table = pr.job_table(recursive=True)
    cols = ["id", "job", "status", "hamilton", "masterid"]
    rows = table[cols].astype(object).where(table[cols].notna(), None).to_dict("records")
    rows = [
        {k: (int(v) if k in ("id", "masterid") and v is not None else v) for k, v in r.items()}
        for r in rows
    ]
    return {
        "sql_type": state.settings.configuration["sql_type"],
        "job_table": rows,
        "ids": {name: pr.get_job_id(name) for name in JOBS},
        "n_structures": len(structures),
    }


def _reload(path):
    state, pr = _project(path)
    jobs = {name: pr.load(name) for name in JOBS}
    for name, job in jobs.items():
        assert job.status.finished, (name, job.status)
        assert type(job).__name__ == JOBS[name]
    data = jobs["labels_1"].get_labels()
    fit = jobs["fit"]
    table = fit.get_table()
    model = fit.get_model(0)
    sweep = jobs["sweep"]
    rows = sweep.get_table()
    errors = rows[["energy_rmse_test_truth", "force_rmse_test_truth", "energy_rmse_train"]]
    return {
        "ids": {name: job.job_id for name, job in jobs.items()},
        "n_labels": len(data["ids"]),
        "n_descriptor_configurations": len(jobs["desc_4"].configuration_ids),
        "p": int(jobs["desc_4"].p),
        "fit_rows": len(table),
        "fit_coefficients": len(model.coefficients),
        "n_candidates": len(jobs["cand"].structures),
        "sweep": {
            "rows": len(rows),
            "samplers": sorted(set(rows["sampler"])),
            "subset_sizes": sorted(int(n) for n in set(rows["subset_size"])),
            "n_train": len(sweep.output.train_ids),
            "n_test": len(sweep.output.test_ids),
            "finite_errors": bool(errors.notna().all().all()),
            "descriptors_jobs": sorted(int(i) for i in set(rows["descriptors_job"])),
            "labelling_jobs": sorted(int(i) for i in set(rows["labelling_job"])),
            "model_coefficients": len(sweep.get_model(0).coefficients),
        },
    }


def _cleanup(path):
    state, pr = _project(path)
    pr.remove_jobs(recursive=True, silently=True)
    return {"left": len(pr.job_table(recursive=True))}


if __name__ == "__main__":
    mode, where = sys.argv[1], sys.argv[2]
    result = {"run": _run, "reload": _reload, "cleanup": _cleanup}[mode](where)
    print("RESULT " + json.dumps(result), flush=True)
