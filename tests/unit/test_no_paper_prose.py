"""The repository holds the paper's numbers and cites its title, but copies none of its sentences.

Every text file tracked by git is compared with the paper's text: any run of
:data:`MIN_WORDS` or more consecutive words (case-insensitive, punctuation stripped, whitespace
normalised) that also occurs in the paper is reported with its file, line and words. The paper is
not part of the repository; its text file is found through the environment variable
``APPMLIP_PAPER_TEXT`` or at ``../shared/paper/application-specific-mlip-paper.txt`` beside the
repository, and the scan is skipped when neither exists. The detector itself is tested on a
synthetic text and never skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass

import pytest

MIN_WORDS = 8
"""Shortest run of consecutive words shared with the paper that counts as copied prose."""

SCANNED_SUFFIXES = (".py", ".md", ".rst", ".ipynb", ".toml", ".yml", ".sh", ".txt")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PAPER = os.path.join(
    REPO_ROOT, os.pardir, "shared", "paper", "application-specific-mlip-paper.txt"
)

# Text that may be cited word for word: the title with the authors as the paper prints them
# (so a title followed by the author names is allowed too), the author list, the reference.
CITABLE = (
    "Application-specific machine-learned interatomic potentials: exploring the trade-off "
    "between DFT convergence, MLIP expressivity, and computational cost. "
    "Ilgar Baghishov, Jan Janssen, Graeme Henkelman and Danny Perez",
    "Ilgar Baghishov, Jan Janssen, Graeme Henkelman, Danny Perez",
    "Digital Discovery 2025, DOI: 10.1039/d5dd00294j",
)

# Generic wording shared with the paper by coincidence (common technical English, not the
# paper's sentences). Keep this list short; every entry is a phrase of its own.
GENERIC = ()

_WORD = re.compile(r"[^\W_]+")


def words_with_lines(text: str) -> list[tuple[str, int]]:
    """Split a text into lower-case words, punctuation dropped.

    Args:
        text: Any text.

    Returns:
        The words in order, each with the 1-based number of the line it starts on.
    """
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        out += [(w.lower(), number) for w in _WORD.findall(line)]
    return out


def ngrams(text: str, n: int = MIN_WORDS) -> set[tuple[str, ...]]:
    """All runs of ``n`` consecutive words of a text.

    Args:
        text: Any text.
        n: Number of words per run.

    Returns:
        The set of word tuples.
    """
    words = [w for w, _ in words_with_lines(text)]
    return {tuple(words[k : k + n]) for k in range(len(words) - n + 1)}


@dataclass
class Hit:
    """A run of words shared with the paper."""

    line: int
    words: str


def shared_runs(text: str, paper_ngrams: set, n: int = MIN_WORDS) -> list[Hit]:
    """The maximal runs of at least ``n`` consecutive words of ``text`` found in the paper.

    Args:
        text: The text to check.
        paper_ngrams: :func:`ngrams` of the paper (minus anything allowed).
        n: Shortest run that counts.

    Returns:
        One :class:`Hit` per maximal run (overlapping ``n``-word windows merged).
    """
    words = words_with_lines(text)
    flagged = [
        tuple(w for w, _ in words[k : k + n]) in paper_ngrams for k in range(len(words) - n + 1)
    ]
    hits, k = [], 0
    while k < len(flagged):
        if not flagged[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(flagged) and flagged[end + 1]:
            end += 1
        run = words[k : end + n]
        hits.append(Hit(line=run[0][1], words=" ".join(w for w, _ in run)))
        k = end + 1
    return hits


def notebook_texts(raw: str) -> list[tuple[str, str]]:
    """The texts of a notebook: every cell's source and its text outputs.

    Args:
        raw: The notebook file's content (JSON).

    Returns:
        ``(where, text)`` pairs, ``where`` naming the cell (0-based index) and part.
    """

    def joined(value):
        return "".join(value) if isinstance(value, list) else str(value)

    out = []
    for index, cell in enumerate(json.loads(raw).get("cells", [])):
        out.append((f"cell {index} ({cell.get('cell_type')})", joined(cell.get("source", ""))))
        for output in cell.get("outputs", []):
            if "text" in output:
                out.append((f"cell {index} output", joined(output["text"])))
            for mime, data in output.get("data", {}).items():
                if mime.startswith("text/"):
                    out.append((f"cell {index} output {mime}", joined(data)))
    return out


def paper_ngrams_without_allowed(paper_text: str) -> set:
    """The paper's word runs minus those of the citable and generic phrases.

    Args:
        paper_text: The paper's full text.

    Returns:
        The set of :data:`MIN_WORDS`-word runs that must not appear in the repository.
    """
    allowed = set()
    for phrase in CITABLE + GENERIC:
        allowed |= ngrams(phrase)
    return ngrams(paper_text) - allowed


def tracked_text_files() -> list[str]:
    """The repository's files tracked by git with a scanned suffix (paths relative to the root)."""
    out = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.splitlines() if p.endswith(SCANNED_SUFFIXES)]


def scan_repository(paper_text: str) -> list[str]:
    """Every run of the repository's tracked text files shared with the paper.

    Args:
        paper_text: The paper's full text.

    Returns:
        One ``"path:line: words"`` (notebooks: ``"path [cell k]:line: words"``) per hit.
    """
    forbidden = paper_ngrams_without_allowed(paper_text)
    report = []
    for path in tracked_text_files():
        full = os.path.join(REPO_ROOT, path)
        if not os.path.isfile(full):  # deleted in the working tree, not yet committed
            continue
        with open(full, encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
        parts = notebook_texts(raw) if path.endswith(".ipynb") else [("", raw)]
        for where, text in parts:
            label = f"{path} [{where}]" if where else path
            report += [f"{label}:{h.line}: {h.words}" for h in shared_runs(text, forbidden)]
    return report


def _paper_path() -> str:
    return os.environ.get("APPMLIP_PAPER_TEXT") or DEFAULT_PAPER


def test_detector_finds_eight_shared_words_and_ignores_seven():
    paper = (
        "Alpha bravo charlie delta echo foxtrot golf hotel india. "
        "Juliet kilo lima mike november oscar papa quebec."
    )
    forbidden = paper_ngrams_without_allowed(paper)
    eight = "An intro line.\nThen: ALPHA, bravo; charlie delta-echo foxtrot golf hotel and more."
    hits = shared_runs(eight, forbidden)
    assert [(h.line, h.words) for h in hits] == [
        (2, "alpha bravo charlie delta echo foxtrot golf hotel")
    ]
    seven = "kilo lima mike november oscar papa quebec, but then something else"
    assert shared_runs(seven, forbidden) == []
    # two separate runs each shorter than eight words do not add up
    assert shared_runs("juliet kilo lima mike and november oscar papa quebec", forbidden) == []
    # the citable title and authors are allowed
    title = CITABLE[0]
    assert shared_runs(title, paper_ngrams_without_allowed(paper + " " + title)) == []
    assert shared_runs(title, ngrams(paper + " " + title)) != []
    # notebooks: sources and text outputs are scanned
    nb = json.dumps(
        {
            "cells": [
                {"cell_type": "markdown", "source": ["Intro\n", "alpha bravo charlie delta\n"]},
                {
                    "cell_type": "code",
                    "source": "x = 1",
                    "outputs": [{"data": {"text/markdown": ["echo foxtrot golf hotel india"]}}],
                },
            ]
        }
    )
    texts = dict(notebook_texts(nb))
    assert shared_runs(texts["cell 0 (markdown)"], forbidden) == []
    assert shared_runs(texts["cell 1 output text/markdown"], forbidden) == []
    assert len(shared_runs(texts["cell 0 (markdown)"] + " echo foxtrot golf hotel", forbidden)) == 1


def test_no_sentence_of_the_paper_is_copied():
    path = _paper_path()
    if not os.path.isfile(path):
        pytest.skip(f"paper text not found at {path} (set APPMLIP_PAPER_TEXT)")
    with open(path, encoding="utf-8") as fh:
        paper_text = fh.read()
    hits = scan_repository(paper_text)
    assert not hits, "runs of words copied from the paper:\n" + "\n".join(hits)


def test_the_documentation_pages_are_scanned():
    """Every tracked file of docs/ except the CSS/HTML templates has a scanned suffix."""
    out = subprocess.run(
        ["git", "ls-files", "docs"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    pages = [p for p in out if p.endswith(".md")]
    assert "docs/index.md" in pages, out
    scanned = set(tracked_text_files())
    assert set(pages) <= scanned
    unscanned = [p for p in out if p not in scanned and not p.endswith((".gitignore", ".css"))]
    assert unscanned == [], unscanned
