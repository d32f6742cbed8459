"""The like-for-like results' cache: a result is reused only for an equal key, which holds the
package's code digest (:func:`code_digest`). The cache itself is
:mod:`pyiron_appmlip.reproduction.result_cache`.
"""

from __future__ import annotations

from ..result_cache import cached as _cached  # noqa: F401  (the cache of this package)
from ..result_cache import code_digest as _code_digest

__all__ = ["RENDERING_MODULES", "code_digest"]

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
    return _code_digest(RENDERING_MODULES, root)
