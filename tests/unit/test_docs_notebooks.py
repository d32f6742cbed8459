"""The executed notebook copies shown in the docs (``docs/notebooks/``) match ``notebooks/``.

The copies are written by ``docs/execute_notebooks.py``; these tests read them as JSON and do not
execute anything.
"""

import importlib.util
import json
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
COPIES = ROOT / "docs" / "notebooks"
#: bytes one executed copy may take (figures are PNG, tables HTML and text)
MAX_COPY_BYTES = 1_500_000
RERUN = "run `python docs/execute_notebooks.py {}` and commit docs/notebooks/"


def _script():
    spec = importlib.util.spec_from_file_location(
        "execute_notebooks", ROOT / "docs" / "execute_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def test_every_notebook_has_one_copy_and_no_copy_is_orphaned():
    assert SOURCES, "no notebooks found"
    copies = sorted(p.name for p in COPIES.glob("*.ipynb"))
    assert copies == [p.name for p in SOURCES], RERUN.format("")
    for path in COPIES.glob("*.ipynb"):
        assert not path.is_symlink(), f"{path.name} is a link, not an executed copy"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_copy_has_the_cells_of_its_notebook(source):
    """Code and Markdown, in order: the page never shows code or text the notebook lost."""
    ours = [(c["cell_type"], _text(c["source"])) for c in _cells(source)]
    shown = [(c["cell_type"], _text(c["source"])) for c in _cells(COPIES / source.name)]
    stale = [k for k, (a, b) in enumerate(zip(ours, shown, strict=False)) if a != b]
    assert len(ours) == len(shown) and not stale, (
        f"docs copy of {source.name} is stale (cells {stale}, {len(ours)} vs {len(shown)} "
        f"cells): " + RERUN.format(source.stem)
    )


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_copy_ran_top_to_bottom_without_errors(source):
    code = [c for c in _cells(COPIES / source.name) if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    # one kernel, each cell once, in order
    assert counts == list(range(1, len(code) + 1)), counts
    errors = [
        (k, o.get("ename"))
        for k, c in enumerate(code)
        for o in c["outputs"]
        if o["output_type"] == "error"
    ]
    assert not errors
    assert any(c["outputs"] for c in code), "no outputs at all"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_copy_is_small_and_holds_no_widget_state(source):
    path = COPIES / source.name
    assert path.stat().st_size < MAX_COPY_BYTES, path.stat().st_size
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"]
    for cell in nb["cells"]:
        assert "execution" not in cell["metadata"]
        for out in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_source_notebook_is_stored_without_outputs_and_with_cell_ids(source):
    """Outputs live in the docs copies only; cell ids as nbformat 4.5 requires."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5)
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, _text(cell["source"])


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_copy_shows_no_absolute_path_of_this_checkout(source):
    assert str(ROOT) + os.sep not in (COPIES / source.name).read_text(encoding="utf-8")


def test_relative_paths_strips_the_checkout_prefix_only(tmp_path):
    script = _script()
    root = tmp_path / "checkout"
    text = f"{root}/pyiron_appmlip/core/fit.py:439: Warning\n{tmp_path}/other/x.py"
    got = script.relative_paths(text, root)
    assert got == f"pyiron_appmlip/core/fit.py:439: Warning\n{tmp_path}/other/x.py"


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_merge_streams_joins_runs_of_one_stream_and_applies_carriage_returns():
    script = _script()
    outputs = [
        _stream("stdout", "start\n"),
        _stream("stderr", "\rbar:   0%| 0/2"),
        _stream("stderr", "\rbar:  50%| 1/2"),
        _stream("stderr", "\rbar: 100%| 2/2\n"),
        _stream("stdout", "done\n"),
        _stream("stdout", "a\rb\r\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
        _stream("stdout", "after\n"),
    ]
    merged = script.merge_streams(outputs)
    got = [(o.output_type, o.get("name"), o.get("text")) for o in merged]
    assert got == [
        ("stream", "stdout", "start\n"),
        ("stream", "stderr", "bar: 100%| 2/2\n"),
        # the \r before a newline overwrites nothing and stays
        ("stream", "stdout", "done\nb\r\n"),
        ("execute_result", None, None),
        ("stream", "stdout", "after\n"),
    ]
    assert outputs[0].text == "start\n", "the input outputs are left unchanged"


def test_clean_drops_widget_state_and_timing_but_keeps_figures():
    script = _script()
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}
    cell = nbformat.v4.new_code_cell("plot()", execution_count=1)
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=widget),
        nbformat.v4.new_output("display_data", data=png),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})
    script.clean(nb)
    assert "widgets" not in nb.metadata and "execution" not in nb.cells[0].metadata
    assert [dict(o.data) for o in nb.cells[0].outputs] == [png]
    stream = nbformat.v4.new_output("stream", name="stderr", text=f"{script.ROOT}/a.py:1: W\n")
    html = {"text/html": f"<td>{script.ROOT}/b.py</td>", "text/plain": f"{script.ROOT}/b.py"}
    cell.outputs = [stream, nbformat.v4.new_output("execute_result", data=html)]
    script.clean(nb)
    assert nb.cells[0].outputs[0].text == "a.py:1: W\n"
    assert dict(nb.cells[0].outputs[1].data) == {"text/html": "<td>b.py</td>", "text/plain": "b.py"}


def test_update_text_copies_markdown_and_keeps_outputs(tmp_path):
    script = _script()
    ran = nbformat.v4.new_code_cell("x = 1\nx", execution_count=1)
    ran.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"})]
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("old text"), ran])
    new = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("new text"),
            nbformat.v4.new_code_cell("x = 1\nx"),
            nbformat.v4.new_markdown_cell("an added note"),
        ]
    )
    source, target = tmp_path / "nb.ipynb", tmp_path / "copy.ipynb"
    nbformat.write(new, source)
    nbformat.write(old, target)
    script.update_text(source, target)
    got = nbformat.read(target, as_version=4)
    assert [c.source for c in got.cells] == ["new text", "x = 1\nx", "an added note"]
    assert got.cells[1].execution_count == 1
    assert got.cells[1].outputs[0].data["text/plain"] == "1"


def test_update_text_refuses_changed_code(tmp_path):
    script = _script()
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    new = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
    source, target = tmp_path / "nb.ipynb", tmp_path / "copy.ipynb"
    nbformat.write(new, source)
    nbformat.write(old, target)
    before = target.read_text()
    with pytest.raises(ValueError, match="code cells of nb.ipynb changed"):
        script.update_text(source, target)
    assert target.read_text() == before
    with pytest.raises(ValueError, match="does not exist"):
        script.update_text(source, tmp_path / "missing.ipynb")


def test_select_names_the_available_notebooks_on_a_wrong_name():
    script = _script()
    assert script.select([]) == SOURCES
    assert script.select([SOURCES[0].name]) == [SOURCES[0]]
    assert script.select([SOURCES[0].stem]) == [SOURCES[0]]
    with pytest.raises(ValueError, match="choose from") as err:
        script.select(["no_such_notebook"])
    for path in SOURCES:
        assert path.stem in str(err.value)


def test_kernel_environment_isolates_pyiron_and_imports_this_checkout(tmp_path, monkeypatch):
    script = _script()
    monkeypatch.setenv("PYIRONSQLFILE", "/somewhere/else/pyiron.db")
    monkeypatch.setenv("PYIRONSQLTYPE", "Postgres")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = script.kernel_environment(tmp_path)
    assert env["PYIRONSQLFILE"] == str(tmp_path / ".pyiron.db")
    assert "PYIRONSQLTYPE" not in env
    assert env["PYIRONPROJECTPATHS"] == str(tmp_path)
    assert Path(env["PYIRONRESOURCEPATHS"]).is_dir()
    assert Path(env["PYIRONRESOURCEPATHS"]).parent == tmp_path
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/elsewhere"]
