"""The findings report's figures: PNG files beside the report, drawn from the same results its
tables are rendered from, and linked from its Markdown by relative paths."""

from __future__ import annotations

import os


class FigureWriter:
    """Draws the report's figures into a folder and hands out their links.

    Args:
        folder: Where the PNG files are written (created if missing).
        report: The report's path; links are relative to its folder (None: to the current one).
    """

    def __init__(self, folder: str, report: str | None = None):
        self.folder = folder
        self.report = report

    def link(self, path: str) -> str:
        """The Markdown link target of ``path``: relative to the report's folder."""
        base = os.path.dirname(os.path.abspath(self.report)) if self.report else os.getcwd()
        return os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")

    def like_for_like(self, results, conventions) -> dict:
        """The like-for-like figures; returns ``{figure: link}``."""
        return {}

    def findings(self, findings) -> dict:
        """The figures of the findings measured on the shipped dataset; returns
        ``{figure: link}``."""
        return {}
