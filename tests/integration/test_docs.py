"""The documentation builds with the command the README gives, warnings as errors."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _documented_build_command() -> list[str]:
    """The ``sphinx-build`` line of the README's Documentation section, split into words."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if re.search(r"\bsphinx-build\b", ln)]
    assert len(lines) == 1, lines
    return shlex.split(lines[0].split("#", 1)[0])


def test_readme_build_command_treats_warnings_as_errors():
    words = _documented_build_command()
    assert Path(words[0]).name == "sphinx-build"
    assert words[1:] == ["-W", "--keep-going", "-b", "html", "docs", "docs/_build/html"]


def test_docs_build_without_warnings(tmp_path):
    """Runs the README's command (the output folder moved to a temporary one) and checks pages."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    words = _documented_build_command()
    out = tmp_path / "html"
    # The same arguments, run by this interpreter; doctrees and HTML in the temporary folder.
    args = [sys.executable, "-m", "sphinx", *words[1:-1], str(out), "-d", str(tmp_path / "dt")]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-6000:]
    for page in (
        "index.html",
        "installation.html",
        "own_data.html",
        "clusters.html",
        "reproducing.html",
        "api/index.html",
        "api/generated/pyiron_appmlip.training.sweep.html",
        "notebooks/quickstart.html",
    ):
        assert (out / page).is_file(), page
    sweep_page = (out / "api/generated/pyiron_appmlip.training.sweep.html").read_text()
    assert "run_sweep" in sweep_page
    # the notebook's code cells are on its page
    assert "rattled_strained_cells" in (out / "notebooks/quickstart.html").read_text()
    # and so are the outputs of the executed copies in docs/notebooks: text, and every PNG figure
    # of a copy as an image file the page shows
    for copy in sorted((ROOT / "docs" / "notebooks").glob("*.ipynb")):
        page = (out / "notebooks" / f"{copy.stem}.html").read_text()
        assert "cell_output" in page, copy.name
        n_png = sum(
            "image/png" in o.get("data", {})
            for c in json.loads(copy.read_text())["cells"]
            for o in c.get("outputs", [])
        )
        images = re.findall(r'<img[^>]+src="\.\./(_images/[^"]+\.png)"', page)
        assert len(images) == n_png, (copy.name, images)
        assert all((out / src).is_file() for src in images)
