"""Cached results of the reproduction's long computations: a result is stored under a hash of
everything it depends on and reused only for an equal key.

A key holds the data files' digests, the settings and :func:`code_digest` of the package's
sources that can change a result: each report leaves out its own modules that only summarise,
plan or render (they cannot change a stored result), so editing a figure does not recompute
an hour of fits, while any change to the code that computes rows does. :func:`write_text`
writes a report the same way a result is stored: whole or not at all.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pickle
import sys
from collections.abc import Iterable

__all__ = ["code_digest", "cached", "write_text"]


def code_digest(skip: Iterable[str] = (), root: str | None = None) -> str:
    """SHA-256 of the package's Python sources except ``skip``.

    Args:
        skip: paths relative to the package folder (e.g.
            ``"reproduction/findings_render.py"``) of modules that cannot change a result.
        root: the package folder (default: this installed package).
    """
    if root is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    skipped = {os.path.normpath(m) for m in skip}
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(path, root)
        if os.path.normpath(rel) in skipped:
            continue
        h.update(rel.encode())
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def cached(cache_dir: str | None, key: dict, compute):
    """``compute()``, stored in ``cache_dir`` under a hash of ``key`` and reused only for an
    equal key (None: always computed). A damaged file is named and recomputed; writes are
    atomic (a temporary file, then a rename).

    Args:
        cache_dir: folder of the cached results (created when needed), or None.
        key: JSON-serialisable description of everything the result depends on.
        compute: callable returning the result (picklable).
    """
    if cache_dir is None:
        return compute()
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    path = os.path.join(cache_dir, f"{digest}.pkl")
    if os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                stored_key, result = pickle.load(fh)
            if stored_key == text:
                return result
        except Exception as err:  # a damaged cache file is recomputed
            print(f"cache file {path} unreadable ({err}); recomputing", file=sys.stderr)
    result = compute()
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump((text, result), fh)
    os.replace(tmp, path)
    return result


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a
    rename), creating the folder: an interrupted write never leaves a half-written report."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
