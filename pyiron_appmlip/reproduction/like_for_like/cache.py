"""The like-for-like results' cache: a result is reused only for an equal key, which holds the
package's code digest (:func:`code_digest`).
"""

from __future__ import annotations

import glob
import os
import sys

#: Modules that only turn results into Markdown or figures, relative to the package folder. They
#: cannot change a computed result, so :func:`code_digest` leaves them out: editing a table's
#: layout or a figure keeps every cached result valid.
RENDERING_MODULES = (
    "reproduction/findings_render.py",
    "reproduction/findings_figures.py",
    "reproduction/like_for_like/rendering.py",
    "study/plots.py",
)


def code_digest(root: str | None = None) -> str:
    """SHA-256 of the package's Python sources: part of every cache key, so that a result
    computed by other code (an edited checkout keeps its version string) is not reused.

    The modules that only render results (:data:`RENDERING_MODULES`: the findings report's
    Markdown and figures, the like-for-like Markdown and the study's plots) are left out, so a
    report can be re-rendered from a filled cache after they were edited. Every other module
    counts.

    Args:
        root: The package folder to digest (default: this installed package).

    Returns:
        The digest as 64 hexadecimal characters.
    """
    import hashlib

    if root is None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    skipped = {os.path.normpath(m) for m in RENDERING_MODULES}
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        name = os.path.relpath(path, root)
        if os.path.normpath(name) in skipped:
            continue
        h.update(name.encode())
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _cached(cache_dir, key: dict, compute):
    """``compute()``, stored in ``cache_dir`` under a hash of ``key`` and reused only for an equal
    key (the dataset file's SHA-256, 2Jmax, conventions, package version and
    :func:`code_digest` are in it)."""
    import hashlib
    import json
    import pickle

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
