"""The reproduction's result cache and report writing."""

import os

import pytest

from pyiron_appmlip.reproduction.result_cache import cached, code_digest, write_text


def test_write_text_is_whole_or_not_at_all(tmp_path):
    path = tmp_path / "reports" / "report.md"
    write_text(str(path), "first\n")
    assert path.read_text() == "first\n"
    with pytest.raises(TypeError):
        write_text(str(path), b"not text")  # fails while writing
    assert path.read_text() == "first\n"  # the old report is untouched
    assert os.listdir(path.parent) == ["report.md"]  # no temporary file is left behind


def test_cached_result_needs_an_equal_key_and_a_readable_file(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert cached(str(tmp_path), {"k": 1}, compute) == 1
    assert cached(str(tmp_path), {"k": 1}, compute) == 1
    assert cached(str(tmp_path), {"k": 2}, compute) == 2
    for p in tmp_path.iterdir():
        p.write_bytes(b"damaged")
    assert cached(str(tmp_path), {"k": 1}, compute) == 3  # a damaged file is recomputed


def test_code_digest_leaves_out_only_the_named_modules(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "reproduction").mkdir(parents=True)
    (pkg / "core.py").write_text("a = 1\n")
    (pkg / "reproduction" / "render.py").write_text("b = 1\n")
    skip = ["reproduction/render.py"]
    first = code_digest(skip, str(pkg))
    (pkg / "reproduction" / "render.py").write_text("b = 2\n")
    assert code_digest(skip, str(pkg)) == first
    (pkg / "core.py").write_text("a = 2\n")
    assert code_digest(skip, str(pkg)) != first
