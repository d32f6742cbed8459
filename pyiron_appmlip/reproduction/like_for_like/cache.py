"""The like-for-like results' cache: a result is reused only for an equal key, which holds the
package's code digest (:func:`code_digest`).
"""

from __future__ import annotations

import glob
import os
import sys


def code_digest() -> str:
    """SHA-256 of the package's Python sources: part of every cache key, so that a result
    computed by other code (an edited checkout keeps its version string) is not reused."""
    import hashlib

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        h.update(os.path.relpath(path, root).encode())
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
