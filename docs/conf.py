"""Sphinx configuration of the pyiron_appmlip documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from the repository
root (install the ``docs`` extra first: ``pip install -e ".[docs]"``).
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, ROOT)

project = "pyiron_appmlip"
author = "the pyiron_appmlip developers"
copyright = "2026, the pyiron_appmlip developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are not executed here (GPAW and LAMMPS would run for several minutes): the pages
# show docs/notebooks/*.ipynb, copies of notebooks/*.ipynb stored with their outputs by
# ``python docs/execute_notebooks.py``; tests/unit/test_docs_notebooks.py keeps them in step.
nb_execution_mode = "off"
# Markdown that a cell displays (IPython.display.Markdown: the findings report) is read as MyST,
# so that its tables render as tables.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

templates_path = ["_templates"]
autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
# The job classes list their inputs and outputs under "Input (``job.input``):" and
# "Output (``job.output``):"; they are shown as parameter lists named "Job input"/"Job output".
napoleon_custom_sections = [("Job input", "params_style"), ("Job output", "params_style")]
_JOB_SECTIONS = {"Input (``job.input``": "Job input:", "Output (``job.output``": "Job output:"}


def _job_sections(app, what, name, obj, options, lines):
    """Rename the job classes' input/output headers to napoleon sections (runs before napoleon)."""
    for k, line in enumerate(lines):
        text = line.strip()
        for old, new in _JOB_SECTIONS.items():
            if text.startswith(old) and text.endswith(":"):
                lines[k] = line.replace(text, new)


def setup(app):
    app.connect("autodoc-process-docstring", _job_sections, priority=100)


html_theme = "furo"
html_title = "pyiron_appmlip"
html_static_path = ["_static"]
html_css_files = ["notebook_outputs.css"]
