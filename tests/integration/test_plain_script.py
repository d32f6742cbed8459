"""A plain Python script without an ``if __name__ == "__main__":`` guard runs the labelling,
descriptors and sweep jobs on their default local worker pools, then reads their results: its
body runs once (the workers never import it), and every job and calculation succeeds.

The script runs as a user would run it (``python script.py`` in a fresh folder, with its own
pyiron database and HOME), real GPAW and LAMMPS on four 1-2 atom Be cells."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pyiron_appmlip.executors import available_cores

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# No main guard, on purpose. Every run of the body appends a line to body_runs.txt.
_SCRIPT = textwrap.dedent(
    """
    import json
    import logging
    import os

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "body_runs.txt"), "a") as fh:
        fh.write(f"{os.getpid()} {__name__}\\n")

    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    WORKERS = __WORKERS__  # None: the default, one worker per core

    class Messages(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    messages = Messages()
    logging.getLogger("pyiron_log").addHandler(messages)
    logging.getLogger("pyiron_log").setLevel(logging.INFO)

    pr = Project("study")
    structures = list(rattled_strained_cells(4, seed=5, max_atoms=2))

    lab = pr.create.job.AppmlipLabelling("labels")
    lab.structures = structures
    lab.input.level = 1
    lab.input.progress = False
    lab.input.executor = WORKERS
    lab.run()
    labels = lab.get_labels(only_finished=False)  # read right after run()
    print("labels", labels["ids"], labels["energies"])

    desc = pr.create.job.AppmlipDescriptors("descriptors")
    desc.structures = structures
    desc.input.twojmax = 2
    desc.input.chunk_size = 1
    desc.input.progress = False
    desc.input.executor = WORKERS
    desc.run()
    blocks = desc.get_blocks()
    print("descriptor blocks", [b.shape for b in blocks])

    sweep = pr.create.job.AppmlipSweep("sweep")
    sweep.add_descriptors(desc)
    sweep.add_labels(lab)
    sweep.input.subset_sizes = [2]
    sweep.input.weights = [[150.0, 1.0]]
    sweep.input.samplers = ["leverage", "random"]
    sweep.input.executor = WORKERS
    sweep.run()
    table = sweep.get_table()
    print(table[["sampler", "subset_size", "energy_rmse_test_truth"]])

    report = {
        "labelling": {
            "status": lab.status.string,
            "workers": lab.output.workers,
            "ids": labels["ids"],
            "calculations": labels["status"],
            "energies": [float(e) for e in labels["energies"]],
            "failed": dict(lab.failed),
        },
        "descriptors": {
            "status": desc.status.string,
            "workers": desc.output.workers,
            "ids": desc.configuration_ids,
            "blocks": [b.tolist() for b in blocks],
        },
        "sweep": {
            "status": sweep.status.string,
            "samplers": sorted(table["sampler"]),
            "errors": table["force_rmse_test_truth"].tolist(),
            "units": [m for m in messages.messages if " units (" in m],
        },
    }
    print("REPORT " + json.dumps(report))
    """
)


def _n_workers(description: str) -> int:
    """The number in a description such as "2 local workers"."""
    found = re.fullmatch(r"(\d+) local workers?", description)
    assert found, description
    return int(found.group(1))


@pytest.fixture(scope="module")
def plain_script_run(tmp_path_factory):
    """Run the script once in a fresh folder; return (report, body runs, output)."""
    folder = tmp_path_factory.mktemp("plain_script")
    script = folder / "script.py"
    # the default pool when it has two workers here, else two workers of the same pool
    workers = None if available_cores() >= 2 else 2
    script.write_text(_SCRIPT.replace("__WORKERS__", repr(workers)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYIRON")}
    home = folder / "home"
    resources = folder / "resources"
    home.mkdir()
    resources.mkdir()
    env.update(
        HOME=str(home),
        PYIRONSQLFILE=str(folder / "pyiron.db"),
        PYIRONRESOURCEPATHS=str(resources),
        PYIRONPROJECTPATHS=str(folder),
        PYIRONPROJECTCHECKENABLED="False",
        PYTHONPATH=os.pathsep.join([_REPO, *filter(None, [env.get("PYTHONPATH")])]),
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert len(lines) == 1, output[-5000:]
    runs = (folder / "body_runs.txt").read_text().splitlines()
    return json.loads(lines[0][len("REPORT ") :]), runs, output


def test_the_script_body_runs_once(plain_script_run):
    _, runs, output = plain_script_run
    assert len(runs) == 1, (runs, output[-5000:])
    pid, name = runs[0].split()
    assert name == "__main__"
    assert "__mp_main__" not in output


def test_labelling_on_local_workers_finishes_every_calculation(plain_script_run):
    report = plain_script_run[0]["labelling"]
    assert report["status"] == "finished", report
    assert _n_workers(report["workers"]) >= 2
    assert len(report["ids"]) == 4 and report["failed"] == {}
    assert report["calculations"] == ["finished"] * 4
    # a bound solid: a few eV per cell below the isolated atoms, none missing
    assert all(-20.0 < e < 0.0 for e in report["energies"]), report["energies"]


def test_descriptors_on_local_workers_equal_blocks_computed_here(plain_script_run):
    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    report = plain_script_run[0]["descriptors"]
    labelled = plain_script_run[0]["labelling"]["ids"]
    assert report["status"] == "finished", report
    assert _n_workers(report["workers"]) >= 2
    assert report["ids"] == labelled
    want = compute_qsnap_blocks(list(rattled_strained_cells(4, seed=5, max_atoms=2)), 2)
    for got, w in zip(report["blocks"], want, strict=True):
        got = np.array(got)
        assert got.shape == w.shape
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-10 * np.abs(w).max())


def test_sweep_units_on_local_workers_finish(plain_script_run):
    report = plain_script_run[0]["sweep"]
    assert report["status"] == "finished", report
    assert report["samplers"] == ["leverage", "random"]
    assert all(e >= 0.0 for e in report["errors"])
    (units,) = report["units"]
    found = re.search(r"(\d+) units \((\d+) local workers\)", units)
    assert found, units
    assert int(found.group(1)) == 2 and int(found.group(2)) == 2
