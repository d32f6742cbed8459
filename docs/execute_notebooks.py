"""Execute the notebooks of ``notebooks/`` and store the executed copies shown in the docs.

The documentation renders ``docs/notebooks/*.ipynb``, which are copies of ``notebooks/*.ipynb``
with their outputs (tables, printed numbers, figures). Sphinx does not execute them
(``nb_execution_mode = "off"``): the quickstart alone runs GPAW and LAMMPS for several minutes.
After changing a notebook's code, or a part of the package that changes its outputs, run from the
repository root::

    python docs/execute_notebooks.py                  # all notebooks, ~10 min on 2 cores
    python docs/execute_notebooks.py quickstart       # one notebook, by file name or stem
    python docs/execute_notebooks.py --text-only      # Markdown-only edits: no execution

Each notebook runs in a fresh temporary folder with its own pyiron database and resource folder
(the ``PYIRON*`` variables, so ``~/.pyiron`` is neither read nor written), with this checkout's
package first on ``PYTHONPATH``. The executed copy is written only if no cell raised an error,
and atomically (a temporary file renamed over the old copy). Widget state and per-cell timing
metadata are dropped, so that a copy holds only what the page shows; paths inside this checkout
are shown relative to it (``pyiron_appmlip/...``). ``--text-only`` copies the Markdown cells of
a changed notebook into its stored copy while keeping the outputs, and refuses when a code cell
changed.

``tests/unit/test_docs_notebooks.py`` checks that every copy has the cells of its notebook,
that every code cell of it has run, and that none shows an error.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
#: the notebooks, as written (no outputs)
SOURCE_DIR = ROOT / "notebooks"
#: the executed copies that the documentation renders
DOCS_DIR = ROOT / "docs" / "notebooks"
#: seconds one cell may take before the run is abandoned
CELL_TIMEOUT = 1800
#: output types that only a live Jupyter front end can show (widget state), dropped from copies
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: text that a carriage return overwrites on the same line (``\r`` not followed by a newline)
_OVERWRITTEN = re.compile(r"[^\n]*\r(?=[^\n])")


def source_notebooks() -> list[Path]:
    """The notebooks of ``notebooks/``, sorted by name."""
    return sorted(SOURCE_DIR.glob("*.ipynb"))


def copy_path(source: Path) -> Path:
    """Where the executed copy of ``source`` is stored (``docs/notebooks/<same name>``)."""
    return DOCS_DIR / source.name


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """``path`` as an nbformat 4 notebook, with cell ids added where missing."""
    _, nb = nbformat.validator.normalize(nbformat.read(path, as_version=4))
    return nbformat.from_dict(nb)


def kernel_environment(workdir: Path) -> dict[str, str]:
    """The kernel's environment: this process's, with a private pyiron configuration in
    ``workdir`` (database, resources, project path) and this checkout first on ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYIRON")}
    resources = workdir / ".pyiron_resources"
    resources.mkdir()
    env.update(
        PYIRONSQLFILE=str(workdir / ".pyiron.db"),
        PYIRONRESOURCEPATHS=str(resources),
        PYIRONPROJECTPATHS=str(workdir),
        PYIRONPROJECTCHECKENABLED="False",
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
    )
    # Without ipywidgets, tqdm's notebook progress bars fall back to text and warn about it; the
    # warning concerns this kernel, not the notebook, so it is not shown on the page.
    env["PYTHONWARNINGS"] = ",".join(
        filter(None, [env.get("PYTHONWARNINGS"), "ignore:IProgress not found"])
    )
    # Tiny GPAW and LAMMPS runs are fastest without thread oversubscription.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def errors_of(nb: nbformat.NotebookNode) -> list[str]:
    """The error outputs of ``nb``'s code cells as ``"cell <n>: <name>: <message>"``."""
    found = []
    for k, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                found.append(f"cell {k}: {out.ename}: {out.evalue}")
    return found


def merge_streams(outputs: list) -> list:
    """``outputs`` with consecutive stream outputs of one stream (stdout or stderr) joined, and
    each line overwritten by a carriage return reduced to its last state, as Jupyter shows it
    (a progress bar keeps only its final line)."""
    merged = []
    for out in outputs:
        if (
            out.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == out.name
        ):
            merged[-1].text += out.text
        else:
            merged.append(copy.deepcopy(out))
    for out in merged:
        if out.output_type == "stream":
            out.text = _OVERWRITTEN.sub("", out.text)
    return merged


def relative_paths(text: str, root: Path = ROOT) -> str:
    """``text`` with paths inside the checkout ``root`` written relative to it (as in
    ``pyiron_appmlip/core/fit.py:439`` of a warning), so a page does not show where it ran."""
    return text.replace(str(root) + os.sep, "")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` without widget state, widget views and per-cell execution metadata, its streams
    merged (:func:`merge_streams`), paths in this checkout made relative (:func:`relative_paths`).
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if "data" in out:
                out.data.pop(_WIDGET_MIME, None)
                for mime, value in out.data.items():
                    if mime.startswith("text/") and isinstance(value, str):
                        out.data[mime] = relative_paths(value)
            if out.output_type == "stream":
                out.text = relative_paths(out.text)
        cell.outputs = merge_streams([o for o in cell.outputs if "data" not in o or o.data])
    return nb


def write_atomically(nb: nbformat.NotebookNode, path: Path) -> None:
    """Validate ``nb`` and write it to ``path`` through a temporary file in the same folder."""
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".ipynb", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; a copy is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def execute(source: Path, keep: bool = False) -> Path:
    """Run ``source`` top to bottom in a fresh temporary folder and store the executed copy.

    Args:
        source: A notebook of ``notebooks/``.
        keep: Keep the temporary folder (its path is printed) instead of deleting it.

    Returns:
        The path of the executed copy.

    Raises:
        RuntimeError: If a cell raised an error; the stored copy is then left unchanged.
    """
    from nbclient import NotebookClient

    nb = read_notebook(source)
    workdir = Path(tempfile.mkdtemp(prefix=f"appmlip-docs-{source.stem}-"))
    try:
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            allow_errors=True,
            record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
        )
        start = time.perf_counter()
        client.execute(env=kernel_environment(workdir), cwd=str(workdir))
        seconds = time.perf_counter() - start
    finally:
        if keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    errors = errors_of(nb)
    if errors:
        raise RuntimeError(f"{source.name} raised errors; copy not written:\n" + "\n".join(errors))
    target = copy_path(source)
    write_atomically(clean(nb), target)
    size = target.stat().st_size
    print(f"  {target.relative_to(ROOT)}: {seconds:.0f} s, {size / 1e6:.2f} MB")
    return target


def update_text(source: Path, target: Path | None = None) -> Path:
    """Copy ``source``'s cells into its stored copy, keeping the copy's outputs.

    Only valid when the code cells are unchanged (in content and order); Markdown cells may have
    been edited, added or removed.

    Args:
        source: A notebook of ``notebooks/``.
        target: Its executed copy (default: :func:`copy_path` of ``source``).

    Returns:
        The path of the updated copy.

    Raises:
        ValueError: If the copy does not exist or a code cell differs from ``source``'s.
    """
    target = copy_path(source) if target is None else target
    if not target.is_file():
        raise ValueError(f"{target} does not exist; execute {source.name} first")
    new = read_notebook(source)
    old = nbformat.read(target, as_version=4)
    new_code = [c for c in new.cells if c.cell_type == "code"]
    old_code = [c for c in old.cells if c.cell_type == "code"]
    if [c.source for c in new_code] != [c.source for c in old_code]:
        raise ValueError(
            f"code cells of {source.name} changed: execute it (without --text-only) instead"
        )
    for cell, ran in zip(new_code, old_code, strict=True):
        cell.outputs = copy.deepcopy(ran.outputs)
        cell.execution_count = ran.execution_count
    new.metadata = copy.deepcopy(old.metadata)
    write_atomically(new, target)
    print(f"  {target.name}: Markdown updated, outputs kept")
    return target


def select(names: list[str]) -> list[Path]:
    """The notebooks named (file name or stem), or all of them when ``names`` is empty.

    Raises:
        ValueError: If a name is not a notebook of ``notebooks/``.
    """
    available = {p.stem: p for p in source_notebooks()}
    if not names:
        return list(available.values())
    chosen = []
    for name in names:
        stem = Path(name).stem
        if stem not in available:
            raise ValueError(
                f"notebook {name!r} not in notebooks/; choose from {sorted(available)}"
            )
        chosen.append(available[stem])
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="file names or stems (default: all)")
    parser.add_argument(
        "--text-only", action="store_true", help="update Markdown cells only, keep outputs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary run folders")
    args = parser.parse_args(argv)
    try:
        chosen = select(args.notebooks)
    except ValueError as err:
        parser.error(str(err))
    failed = []
    for source in chosen:
        print(source.relative_to(ROOT), flush=True)
        try:
            update_text(source) if args.text_only else execute(source, keep=args.keep)
        except (RuntimeError, ValueError) as err:
            print(f"  {err}", file=sys.stderr)
            failed.append(source.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
