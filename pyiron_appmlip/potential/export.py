"""Export a fitted linear qSNAP model to LAMMPS ``pair_style snap`` files.

Coefficient layout (as fitted to the blocks of
:mod:`pyiron_appmlip.descriptors.lammps_snap`): ``coefficients[0]`` is the
constant per-atom energy, then one coefficient per block column. In the ``.snapcoeff`` file each
element gets ``1 + n_per_element`` numbers: its constant, then the coefficients of its own
``compute snap`` columns in the same order (the per-atom energy in LAMMPS is
``beta0 + beta.B + 1/2 B^T alpha B``; a coefficient of a ``B_k^2/2`` column is alpha_kk, of a
``B_k B_l`` column alpha_kl, so the map is one to one).

Several elements: with per-element count columns (``element_counts=True``), element 1's constant
is ``coefficients[0]`` and element e's is ``coefficients[0]`` plus the coefficient of its count
column; without them all elements share ``coefficients[0]``.

Linear SNAP (``quadraticflag=0``) exports the same way: K coefficients per element after the
constant, and ``quadraticflag 0`` in the ``.snapparam`` file.

With a reference potential (a model fitted to labels minus a
:class:`~pyiron_appmlip.potential.reference.ReferencePotential`, e.g. ZBL), LAMMPS must add the
reference back. The pair lines are then (:func:`pair_commands`)::

    pair_style hybrid/overlay zbl 4.0 4.8 snap
    pair_coeff * * zbl 4 4
    pair_coeff * * snap appmlip.snapcoeff appmlip.snapparam Be

the reference's ``pair_style`` arguments inside ``hybrid/overlay``, each of its ``pair_coeff``
lines with the sub-style name after the two atom types, and the SNAP line. The model's
``.reference`` is used unless ``reference`` is passed (``reference=False``: SNAP alone).
:func:`write_snap_potential` also writes these lines to ``<name>.mod`` (for ``include``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..descriptors.settings import QSnapSettings

__all__ = [
    "write_snap_potential",
    "snap_potential_dataframe",
    "snap_element_coefficients",
    "pair_commands",
]


def _coefficients(model) -> np.ndarray:
    coefficients = getattr(model, "coefficients", model)
    c = np.asarray(coefficients, dtype=float)
    if c.ndim != 1 or c.size < 2:
        raise ValueError(
            f"coefficients must be a 1-d array (constant first), got shape {np.shape(c)}"
        )
    if not np.all(np.isfinite(c)):
        raise ValueError("coefficients contain NaN or inf")
    return c


def _resolve(model, elements, settings) -> tuple[np.ndarray, QSnapSettings]:
    c = _coefficients(model)
    if settings is None:
        settings = getattr(model, "settings", None)
    if isinstance(elements, str):
        elements = (elements,)
    if settings is None:
        raise ValueError(
            "the model carries no descriptor settings: pass settings=QSnapSettings(...), the "
            "settings of the descriptors it was fitted to (e.g. descriptors_job.settings), or "
            "export a SnapModel (job.get_model(row)), which carries them"
        )
    if not isinstance(settings, QSnapSettings):
        settings = QSnapSettings.make(settings)
    if elements is not None:
        elements = tuple(elements)
        if settings.elements is not None and tuple(settings.elements) != elements:
            raise ValueError(
                f"elements {list(elements)} differ from settings.elements "
                f"{list(settings.elements)} (the column order of the fit)"
            )
        if settings.elements is None:
            settings = QSnapSettings.make(settings, elements=elements)
    elif settings.elements is None:
        raise ValueError("elements must be given (settings.elements is not set)")
    expected = settings.n_columns() + 1
    if c.size != expected:
        raise ValueError(
            f"{c.size} coefficients do not match the settings: expected {expected} "
            f"(1 constant + {settings.n_columns()} columns for 2Jmax {settings.twojmax}, "
            f"elements {list(settings.elements)})"
        )
    return c, settings


def _reference(model, reference, settings: QSnapSettings | None):
    """The reference potential to export with (None: SNAP alone), checked against the elements."""
    if reference is False:
        return None
    if reference is None or reference is True:
        reference = getattr(model, "reference", None)
    if reference is None:
        return None
    if isinstance(reference, Mapping):
        from .reference import ReferencePotential

        reference = ReferencePotential.from_dict(reference)
    for attr in ("pair_style", "pair_coeff", "elements", "overlay_coeff_lines"):
        if not hasattr(reference, attr):
            raise TypeError(
                "reference must be a ReferencePotential (or its to_dict()), got "
                f"{type(reference).__name__}"
            )
    if settings is not None and tuple(reference.elements) != tuple(settings.elements):
        raise ValueError(
            f"the reference potential's elements {list(reference.elements)} differ from the "
            f"model's {list(settings.elements)}: both use the same LAMMPS atom types"
        )
    return reference


def snap_element_coefficients(model, elements=None, settings=None) -> dict[str, np.ndarray]:
    """Per element, the ``1 + n_per_element`` numbers of its ``.snapcoeff`` block."""
    c, settings = _resolve(model, elements, settings)
    n_per = settings.n_per_element
    elements = settings.elements
    n_snap = len(elements) * n_per
    counts = c[1 + n_snap :]
    out = {}
    for k, e in enumerate(elements):
        const = c[0] + (counts[k - 1] if (k > 0 and counts.size) else 0.0)
        out[e] = np.concatenate([[const], c[1 + k * n_per : 1 + (k + 1) * n_per]])
    return out


def _snapparam_lines(settings: QSnapSettings) -> list[str]:
    return [
        f"rcutfac {settings.rcutfac!r}",
        f"twojmax {settings.twojmax}",
        f"rfac0 {settings.rfac0!r}",
        f"rmin0 {settings.rmin0!r}",
        f"bzeroflag {settings.bzeroflag}",
        f"quadraticflag {settings.quadraticflag}",
        f"switchflag {settings.switchflag}",
    ]


def write_snap_potential(
    model,
    elements=None,
    folder=".",
    settings: QSnapSettings | None = None,
    name: str = "appmlip",
    reference=None,
) -> tuple[str, str]:
    """Write ``<name>.snapcoeff`` and ``<name>.snapparam`` into ``folder``; return their paths.

    The LAMMPS lines that use them (:func:`pair_commands`, with absolute file names) are
    written to ``<name>.mod`` next to them, for ``include <folder>/<name>.mod``.

    Args:
        model: an object with ``.coefficients`` (and optionally ``.settings``), or the
            coefficient array itself: constant per-atom energy first, then one per block column.
        elements: element symbols in column order (default: ``settings.elements``).
        folder: output folder (created if missing).
        settings: the :class:`QSnapSettings` of the blocks the model was fitted to; default: the
            model's ``.settings`` (a :class:`~pyiron_appmlip.potential.model.SnapModel` has
            them).
        name: base name of the files.
        reference: a :class:`~pyiron_appmlip.potential.reference.ReferencePotential` the model
            was fitted on top of; default: the model's ``.reference`` (if any); ``False``: none.

    Returns:
        ``(coeff_path, param_path)``, absolute paths.

    Raises:
        ValueError: for a bare coefficient array without ``settings``: the settings are never
            guessed; for a reference with other elements than the model.
    """
    c, settings = _resolve(model, elements, settings)
    reference = _reference(model, reference, settings)
    per_element = snap_element_coefficients(c, settings=settings)
    os.makedirs(folder, exist_ok=True)
    coeff_path = os.path.abspath(os.path.join(folder, f"{name}.snapcoeff"))
    param_path = os.path.abspath(os.path.join(folder, f"{name}.snapparam"))
    lines = [
        "# qSNAP coefficients written by pyiron_appmlip",
        f"# twojmax {settings.twojmax}, quadraticflag {settings.quadraticflag}, "
        f"elements {' '.join(settings.elements)}",
    ]
    if reference is not None:
        lines.append(
            f"# fitted on top of pair_style {reference.pair_style}: use pair_style "
            f"hybrid/overlay {reference.pair_style} snap (see {name}.mod)"
        )
    lines += [
        "",
        f"{len(settings.elements)} {settings.n_per_element + 1}",
    ]
    for e, values in per_element.items():
        lines.append(f"{e} {settings.radius(e)!r} {settings.weight(e)!r}")
        lines.extend(f"{v:.17g}" for v in values)
    with open(coeff_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(param_path, "w") as f:
        f.write("# qSNAP hyperparameters written by pyiron_appmlip\n\n")
        f.write("\n".join(_snapparam_lines(settings)) + "\n")
    mod_path = os.path.join(os.path.dirname(coeff_path), f"{name}.mod")
    with open(mod_path, "w") as f:
        f.write("# LAMMPS pair lines of the model, written by pyiron_appmlip\n")
        f.write(
            "\n".join(pair_commands(coeff_path, param_path, settings.elements, reference)) + "\n"
        )
    return coeff_path, param_path


def pair_commands(
    coeff_file: str, param_file: str, elements: Sequence[str], reference=None
) -> list[str]:
    """The LAMMPS lines that use the files (atom types 1..n = ``elements``).

    Args:
        coeff_file: the ``.snapcoeff`` file name as LAMMPS should open it.
        param_file: the ``.snapparam`` file name as LAMMPS should open it.
        elements: element symbols of atom types 1..n.
        reference: None for ``pair_style snap`` alone, or the
            :class:`~pyiron_appmlip.potential.reference.ReferencePotential` the model was fitted
            on top of (same elements): ``pair_style hybrid/overlay <reference> snap``.

    Returns:
        ``["pair_style snap", "pair_coeff * * <coeff> <param> <elements>"]``, or with a
        reference ``["pair_style hybrid/overlay zbl 4.0 4.8 snap", "pair_coeff * * zbl 4 4",
        "pair_coeff * * snap <coeff> <param> <elements>"]``.
    """
    if isinstance(elements, str):
        elements = (elements,)
    species = " ".join(elements)
    if reference is None:
        return ["pair_style snap", f"pair_coeff * * {coeff_file} {param_file} {species}"]
    if isinstance(reference, Mapping):
        from .reference import ReferencePotential

        reference = ReferencePotential.from_dict(reference)
    if tuple(reference.elements) != tuple(elements):
        raise ValueError(
            f"the reference potential's elements {list(reference.elements)} differ from "
            f"{list(elements)}: both use the same LAMMPS atom types"
        )
    return [
        f"pair_style hybrid/overlay {reference.pair_style} snap",
        *reference.overlay_coeff_lines(),
        f"pair_coeff * * snap {coeff_file} {param_file} {species}",
    ]


def snap_potential_dataframe(
    model,
    elements=None,
    folder=".",
    settings: QSnapSettings | None = None,
    name: str = "appmlip",
    reference=None,
):
    """Write the files (:func:`write_snap_potential`) and return a pyiron potential DataFrame.

    Assign the DataFrame with ``job.potential = df``. pyiron copies the files into the job's
    working directory, so ``Config`` names them without a path.

    Args:
        model: as in :func:`write_snap_potential`.
        elements: as in :func:`write_snap_potential`.
        folder: as in :func:`write_snap_potential`.
        settings: as in :func:`write_snap_potential`.
        name: as in :func:`write_snap_potential`.
        reference: as in :func:`write_snap_potential` (the model's ``.reference`` by default);
            with one, ``Config`` holds the ``hybrid/overlay`` lines of :func:`pair_commands`.

    Returns:
        One row with the columns pyiron_atomistics' Lammps job expects (``Name``, ``Filename``,
        ``Model``, ``Species``, ``Config``).
    """
    import pandas as pd

    _, settings = _resolve(model, elements, settings)
    reference = _reference(model, reference, settings)
    coeff_path, param_path = write_snap_potential(
        model,
        folder=folder,
        settings=settings,
        name=name,
        reference=False if reference is None else reference,
    )
    species = list(settings.elements)
    lines = pair_commands(
        os.path.basename(coeff_path), os.path.basename(param_path), species, reference
    )
    label = f"{name}_qsnap_2J{settings.twojmax}_{'-'.join(species)}"
    if reference is not None:
        label += f"_{reference.style.replace('/', '-')}"
    return pd.DataFrame(
        {
            "Name": [label],
            "Filename": [[coeff_path, param_path]],
            "Model": ["Custom"],
            "Species": [species],
            "Config": [[line + "\n" for line in lines]],
        }
    )
