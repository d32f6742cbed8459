"""The package's layers import only downward.

Every module of ``pyiron_appmlip`` is parsed with :mod:`ast` (no module is imported, so the test
needs no engine); every import counts, at module level or inside a function, class or ``if``
block, including ``importlib.import_module`` with a literal name. Each module belongs to a layer;
a module may import its own layer and the layers below it, never one above.

Layers, lowest first:

0. ``core``: numpy/scipy only; imports nothing else of the package.
1. ``support``: ``executors`` (where heavy steps run), ``lammps_executable`` (the LAMMPS
   executable for pyiron) and the version string; they import nothing of the package, and the
   layers above them use them.
2. ``structures``, 3. ``dft``, 4. ``descriptors``, 5. ``datasets``, 6. ``potential``,
   7. ``training``, 8. ``jobs``, 9. ``study``: one folder each.
10. ``entry``: ``quickstart`` and ``workflow``, which combine jobs and the study.
11. ``reproduction``: the reproduction of the paper (its numbers, the like-for-like study, the
   findings report, the shipped Be campaigns). It may import everything below it, and nothing
   of the package imports it but the deprecated aliases of its modules' old places and the
   quickstart's optional study of the shipped dataset (known exceptions, inside functions).
12. ``facade``: the package's ``__init__``, which hands out the public names. An import of a
   name from the package itself (``from pyiron_appmlip import Project``) counts as an import of
   the module the facade takes that name from (``_LAZY`` there), ``__version__`` as support.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pyiron_appmlip"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

LAYERS = (
    ("core", {"core"}),
    ("support", {"executors", "lammps_executable", "_version"}),
    ("structures", {"structures"}),
    ("dft", {"dft"}),
    ("descriptors", {"descriptors"}),
    ("datasets", {"datasets"}),
    ("potential", {"potential"}),
    ("training", {"training"}),
    ("planning", {"planning"}),
    ("jobs", {"jobs"}),
    ("study", {"study"}),
    ("entry", {"quickstart", "workflow"}),
    ("reproduction", {"reproduction"}),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
RANK["facade"] = len(LAYERS)
_LAYER_OF_TOP = {top: name for name, tops in LAYERS for top in tops}

#: Upward imports that stay on purpose: (importing module, imported module) -> reason. Each
#: import must sit inside a function (so importing the lower layer never loads the upper one).
KNOWN_EXCEPTIONS = {
    ("pyiron_appmlip.descriptors", "pyiron_appmlip.potential"): (
        "deprecated alias: the export names moved to potential and still resolve here, with a "
        "DeprecationWarning"
    ),
    ("pyiron_appmlip.descriptors.export", "pyiron_appmlip.potential"): (
        "deprecated alias of the module that moved to potential"
    ),
    ("pyiron_appmlip.descriptors.evaluation_cost", "pyiron_appmlip.potential"): (
        "deprecated alias of the module that moved to potential"
    ),
    **{
        (f"{PACKAGE}.{old}", f"{PACKAGE}.reproduction"): (
            "deprecated alias of the module that moved to reproduction"
        )
        for old in (
            "study.findings",
            "study.findings_measure",
            "study.findings_render",
            "study.paper_values",
            "study.like_for_like",
            "datasets.be",
        )
    },
    (f"{PACKAGE}.quickstart", f"{PACKAGE}.reproduction.be_dataset"): (
        "the quickstart's optional second part, the paper's study on the shipped Be dataset"
    ),
    (f"{PACKAGE}.quickstart", f"{PACKAGE}.reproduction.like_for_like"): (
        "the quickstart's optional second part, the paper's study on the shipped Be dataset"
    ),
}
#: Where the reproduction may be imported from outside it: the known exceptions above.
REPRODUCTION = f"{PACKAGE}.reproduction"
REPRODUCTION_IMPORTERS = {
    importer
    for importer, imported in KNOWN_EXCEPTIONS
    if imported == REPRODUCTION or imported.startswith(f"{REPRODUCTION}.")
}


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` inside the package directory ``root``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def facade_names(init_source: str) -> dict[str, str]:
    """The package's public names and the modules they come from (its ``_LAZY`` table)."""
    for node in ast.walk(ast.parse(init_source)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_LAZY" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def layer_of(module: str, facade: dict[str, str] | None = None) -> str | None:
    """Layer of a dotted module (or ``module.name``) name; None outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return "facade"
    top = parts[1]
    if top in _LAYER_OF_TOP:
        return _LAYER_OF_TOP[top]
    if top == "__version__":
        return "support"
    if facade is not None and top in facade:  # a public name of the package itself
        return layer_of(facade[top])
    return "facade"


def _imports(tree: ast.AST, module: str, is_package: bool):
    """``(imported dotted name, line, inside a function)`` of every import in ``tree``."""
    package = module if is_package else module.rsplit(".", 1)[0]

    def resolve(name: str | None, level: int) -> str:
        if not level:
            return name or ""
        base = package.split(".")
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([name] if name else []))

    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child.module, child.level)
                if child.module is None or base == PACKAGE:
                    # ``from .. import training`` or ``from pyiron_appmlip import Project``
                    found.extend(
                        (f"{base}.{a.name}", child.lineno, in_function) for a in child.names
                    )
                else:
                    found.append((base, child.lineno, in_function))
            elif (
                isinstance(child, ast.Call)
                and getattr(child.func, "id", getattr(child.func, "attr", None)) == "import_module"
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
            ):
                name = child.args[0].value
                if name.startswith("."):
                    level = len(name) - len(name.lstrip("."))
                    name = resolve(name.lstrip(".") or None, level)
                found.append((name, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def upward_imports(sources: dict[str, str], facade: dict[str, str] | None = None):
    """Every import of a higher layer, and every import by ``core`` of anything else.

    Args:
        sources: ``{dotted module name: source text}``; a package's ``__init__`` is keyed
            ``"<package>.__init__"`` (its relative imports resolve from the package itself).
        facade: the package's public names and their modules (:func:`facade_names`).

    Returns:
        A sorted list of ``(importer, imported, line, inside a function)``.
    """
    bad = []
    for key, text in sources.items():
        is_package = key.endswith(".__init__")
        module = key[: -len(".__init__")] if is_package else key
        own = layer_of(module)
        for target, line, in_function in _imports(ast.parse(text), module, is_package):
            other = layer_of(target, facade)
            if other is None or own == "facade":
                continue
            if RANK[other] > RANK[own] or (own == "core" and other != "core"):
                bad.append((module, target, line, in_function))
    return sorted(bad)


def package_sources() -> dict[str, str]:
    sources = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = module_name(path, PACKAGE_DIR)
        key = f"{name}.__init__" if path.name == "__init__.py" else name
        sources[key] = path.read_text(encoding="utf-8")
    return sources


def test_every_module_of_the_package_has_a_layer():
    for key in package_sources():
        module = key[: -len(".__init__")] if key.endswith(".__init__") else key
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] in _LAYER_OF_TOP, (
            f"{module} belongs to no layer: add it to LAYERS in this test"
        )


def test_no_module_imports_a_higher_layer():
    sources = package_sources()
    facade = facade_names(sources[f"{PACKAGE}.__init__"])
    assert facade, "the package's _LAZY table of public names was not found"
    found = upward_imports(sources, facade)
    unexpected = [b for b in found if (b[0], b[1]) not in KNOWN_EXCEPTIONS]
    assert not unexpected, "imports of a higher layer:\n" + "\n".join(
        f"  {m}:{line} imports {t}" for m, t, line, _ in unexpected
    )
    eager = [b for b in found if (b[0], b[1]) in KNOWN_EXCEPTIONS and not b[3]]
    assert not eager, f"known exceptions must import inside a function: {eager}"
    stale = set(KNOWN_EXCEPTIONS) - {(b[0], b[1]) for b in found}
    assert not stale, f"exceptions no longer needed, remove them from the list: {stale}"


def reproduction_imports(sources: dict[str, str], facade: dict[str, str] | None = None):
    """Every import of :mod:`pyiron_appmlip.reproduction` by a module outside it.

    Returns:
        A sorted list of ``(importer, imported, line, inside a function)``; a public name of the
        package counts as the module the facade takes it from.
    """
    found = []
    for key, text in sources.items():
        is_package = key.endswith(".__init__")
        module = key[: -len(".__init__")] if is_package else key
        if layer_of(module) == "reproduction":
            continue
        for target, line, in_function in _imports(ast.parse(text), module, is_package):
            if layer_of(target, facade) == "reproduction":
                found.append((module, target, line, in_function))
    return sorted(found)


def test_no_product_module_imports_the_reproduction():
    sources = package_sources()
    facade = facade_names(sources[f"{PACKAGE}.__init__"])
    public = [name for name, module in facade.items() if layer_of(module) == "reproduction"]
    assert not public, f"public names of the package taken from the reproduction: {public}"
    found = reproduction_imports(sources, facade)
    unexpected = [b for b in found if b[0] not in REPRODUCTION_IMPORTERS]
    assert not unexpected, "imports of the reproduction:\n" + "\n".join(
        f"  {m}:{line} imports {t}" for m, t, line, _ in unexpected
    )
    eager = [b for b in found if not b[3]]
    assert not eager, f"the deprecated aliases must import the reproduction lazily: {eager}"
    assert {b[0] for b in found} == REPRODUCTION_IMPORTERS, "stale exceptions in the list"


def test_an_import_of_the_reproduction_is_found_wherever_it_is():
    sources = {
        "pyiron_appmlip.study.fake": "def f():\n    from ..reproduction import findings\n",
        "pyiron_appmlip.quickstart": "from pyiron_appmlip.reproduction.be_dataset import x\n",
        "pyiron_appmlip.workflow": "from . import reproduction\n",
        "pyiron_appmlip.reproduction.fake": "from ..study import recommend\n",
    }
    assert reproduction_imports(sources) == [
        ("pyiron_appmlip.quickstart", "pyiron_appmlip.reproduction.be_dataset", 1, False),
        ("pyiron_appmlip.study.fake", "pyiron_appmlip.reproduction", 2, True),
        ("pyiron_appmlip.workflow", "pyiron_appmlip.reproduction", 1, False),
    ]
    assert [b[1] for b in upward_imports(sources)] == [
        "pyiron_appmlip.reproduction.be_dataset",
        "pyiron_appmlip.reproduction",
        "pyiron_appmlip.reproduction",
    ]


def test_core_imports_nothing_else_of_the_package():
    sources = {k: v for k, v in package_sources().items() if k.startswith(f"{PACKAGE}.core")}
    assert len(sources) > 5
    for key, text in sources.items():
        module = key[: -len(".__init__")] if key.endswith(".__init__") else key
        for target, line, _ in _imports(ast.parse(text), module, key.endswith(".__init__")):
            if target.split(".")[0] == PACKAGE:
                assert target.split(".")[1] == "core", f"{module}:{line} imports {target}"


# -- the check itself finds what it must find ---------------------------------------------


def test_a_relative_upward_import_inside_a_function_is_found():
    sources = {
        "pyiron_appmlip.descriptors.fake": (
            "import numpy as np\n"
            "from .settings import QSnapSettings\n"
            "def f():\n"
            "    if True:\n"
            "        from ..training.sweep import run_sweep\n"
        ),
    }
    assert upward_imports(sources) == [
        ("pyiron_appmlip.descriptors.fake", "pyiron_appmlip.training.sweep", 5, True)
    ]


@pytest.mark.parametrize(
    "module, source, target",
    [
        ("pyiron_appmlip.core.fake", "import pyiron_appmlip.jobs.fit\n", "pyiron_appmlip.jobs.fit"),
        (
            "pyiron_appmlip.core.fake",
            "from ..executors import run_tasks\n",
            "pyiron_appmlip.executors",
        ),
        ("pyiron_appmlip.core.fake", "from .. import structures\n", "pyiron_appmlip.structures"),
        (
            "pyiron_appmlip.potential.fake",
            "from pyiron_appmlip.training import labels\n",
            "pyiron_appmlip.training",
        ),
        (
            "pyiron_appmlip.datasets.__init__",
            "from ..potential import model\n",
            "pyiron_appmlip.potential",
        ),
        (
            "pyiron_appmlip.dft.fake",
            "from importlib import import_module\nimport_module('pyiron_appmlip.study.plots')\n",
            "pyiron_appmlip.study.plots",
        ),
        (
            "pyiron_appmlip.jobs.fake",
            "class A:\n    def f(self):\n        from ..quickstart import DEFAULTS\n",
            "pyiron_appmlip.quickstart",
        ),
    ],
)
def test_each_kind_of_upward_import_is_found(module, source, target):
    found = upward_imports({module: source})
    assert [b[1] for b in found] == [target]


def test_a_public_name_of_the_package_counts_as_its_module():
    facade = {"SweepGrid": "pyiron_appmlip.training.sweep", "Project": "pyiron_atomistics"}
    fake = {"pyiron_appmlip.descriptors.fake": "from pyiron_appmlip import SweepGrid\n"}
    assert [b[1] for b in upward_imports(fake, facade)] == ["pyiron_appmlip.SweepGrid"]
    fine = {
        "pyiron_appmlip.datasets.fake": (
            "def f():\n    from .. import Project, __version__\n    from ..core import fit\n"
        )
    }
    assert upward_imports(fine, facade) == []


def test_imports_of_the_same_or_a_lower_layer_pass():
    sources = {
        "pyiron_appmlip.training.fake": (
            "from ..core.fit import LinearModel\n"
            "from ..potential.model import SnapModel\n"
            "from ..datasets.labels import Labels\n"
            "from .labels import parse_weights\n"
            "from ..executors import run_tasks\n"
            "import numpy\n"
        ),
        "pyiron_appmlip.core.fake": "from . import fit\nfrom .units import x\n",
        "pyiron_appmlip.reproduction.like_for_like.fake": (
            "from ...quickstart import DEFAULTS\nfrom ...jobs.fit import AppmlipFit\n"
            "from ..findings import main\nfrom .conventions import StudyConventions\n"
        ),
    }
    assert upward_imports(sources) == []
