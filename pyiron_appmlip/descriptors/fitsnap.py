"""qSNAP descriptor blocks through FitSNAP (second backend, same blocks as :mod:`.lammps_snap`).

FitSNAP (``fitsnap3``) runs LAMMPS ``compute snap`` itself. Its conventions differ from the
blocks here and are undone:

* its energy row is per atom (divided by N): multiplied back by N;
* its ASE scraper rotates positions into LAMMPS' frame but not forces: structures are handed
  over already in the LAMMPS frame (from :func:`.lammps_snap.prepare_structure`), and the force
  rows are rotated back here;
* its stress rows are in bar (``1.6021765e6 * virial / volume``): converted back to the virial;
* its BISPECTRUM section turns flags into Python bools, which recent LAMMPS rejects: cast to int;
* its default ``bzeroflag`` is 0: always passed explicitly. With ``bzeroflag`` 0 it puts a
  column of the atom fraction before the element's columns; it is dropped (the fit here adds
  its own constant column). FitSNAP computes this for one element only: with several elements
  and ``bzeroflag`` 0 this backend refuses, use the LAMMPS backend.

FitSNAP runs serially here (no MPI); it is imported only when this backend is used.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable

import numpy as np

from .lammps_snap import DEFAULT_MIN_DISTANCE, _resolve, assemble_block, prepare_structure
from .settings import QSnapSettings

__all__ = ["compute_qsnap_blocks_fitsnap", "FitsnapDescriptors"]

_BAR_PER_EV_A3 = 1.6021765e6  # the factor FitSNAP applies to virial / volume
_CACHE: dict = {}  # settings JSON + virial -> FitsnapDescriptors (one per process)


def bispectrum_section(settings: QSnapSettings) -> dict:
    """FitSNAP's BISPECTRUM input section for ``settings`` (elements set)."""
    elements = settings.elements
    return {
        "numTypes": len(elements),
        "twojmax": " ".join([str(settings.twojmax)] * len(elements)),
        "rcutfac": settings.rcutfac,
        "rfac0": settings.rfac0,
        "rmin0": settings.rmin0,
        "wj": " ".join(repr(settings.weight(e)) for e in elements),
        "radelem": " ".join(repr(settings.radius(e)) for e in elements),
        "type": " ".join(elements),
        "wselfallflag": 0,
        "chemflag": 0,
        "bzeroflag": settings.bzeroflag,
        "quadraticflag": settings.quadraticflag,
        "switchflag": settings.switchflag,
    }


def _fitsnap_settings(settings: QSnapSettings, virial: bool) -> dict:
    return {
        "BISPECTRUM": bispectrum_section(settings),
        "CALCULATOR": {
            "calculator": "LAMMPSSNAP",
            "energy": 1,
            "force": 1,
            "stress": int(bool(virial)),
        },
        "SOLVER": {"solver": "SVD"},
        "REFERENCE": {
            "units": "metal",
            "atom_style": "atomic",
            "pair_style": f"zero {settings.cutoff() + 1e-3!r}",
            "pair_coeff": "* *",
        },
    }


class FitsnapDescriptors:
    """A FitSNAP instance configured for one set of :class:`QSnapSettings`."""

    def __init__(self, settings: QSnapSettings, virial: bool = False):
        try:
            from fitsnap3lib.fitsnap import FitSnap
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the 'fitsnap' backend needs fitsnap3 (pip install --no-deps fitsnap3)"
            ) from err
        if settings.elements is None:
            raise ValueError("settings.elements is not set")
        if not settings.bzeroflag and len(settings.elements) > 1:
            # FitSNAP 3.1 sizes its single-configuration matrix for one such column in all
            raise ValueError(
                f"the 'fitsnap' backend computes bzeroflag 0 for one element only, got elements "
                f"{list(settings.elements)}; use backend 'lammps' (the same blocks) or "
                "bzeroflag 1"
            )
        self.settings = settings
        self.virial = bool(virial)
        # FitSNAP may write files into the working directory: keep them out of the user's way.
        self._tmp = tempfile.TemporaryDirectory(prefix="appmlip-fitsnap-")
        cwd = os.getcwd()
        try:
            os.chdir(self._tmp.name)
            with contextlib.redirect_stdout(io.StringIO()):
                self.fs = FitSnap(_fitsnap_settings(settings, virial), arglist=["--overwrite"])
        finally:
            os.chdir(cwd)
        section = self.fs.config.sections["BISPECTRUM"]
        for name, value in list(vars(section).items()):
            if isinstance(value, bool):
                setattr(section, name, int(value))
        if int(section.bzeroflag) != settings.bzeroflag:  # pragma: no cover - defensive
            raise RuntimeError("FitSNAP did not take the bzeroflag setting")

    def block(self, structure, min_dist=DEFAULT_MIN_DISTANCE, label="") -> np.ndarray:
        settings = self.settings
        prep = prepare_structure(structure, settings, min_dist, label=label)
        n = prep.n_atoms
        symbols = [settings.elements[t - 1] for t in prep.types]
        data = {
            "Group": None,
            "File": None,
            "Stress": np.zeros((3, 3)),
            "Positions": prep.positions.copy(),
            "Energy": 0.0,
            "AtomTypes": symbols,
            "NumAtoms": n,
            "Forces": np.zeros((n, 3)),
            "QMLattice": prep.cell.T.copy(),  # FitSNAP's lattice: cell vectors as columns
            "Lattice": prep.cell.T.copy(),
            "test_bool": 0,
            "Rotation": np.eye(3),
            "Translation": np.zeros((n, 3)),
            "eweight": 1.0,
            "fweight": 1.0,
            "vweight": 1.0,
        }
        with contextlib.redirect_stdout(io.StringIO()):
            a, _, _ = self.fs.calculator.process_single(data)
        n_types = len(settings.elements)
        p_snap = n_types * settings.n_per_element
        one_hot = 0 if settings.bzeroflag else n_types  # FitSNAP's column per element
        expected = (1 + 3 * n + 6, p_snap + one_hot)  # virial rows there (zero unless stress)
        if a.shape != expected:
            raise RuntimeError(
                f"FitSNAP descriptor matrix has shape {a.shape}, expected {expected}"
            )
        if one_hot:  # per element [count / N, its columns]: drop the count column
            a = a.reshape(len(a), n_types, 1 + settings.n_per_element)[:, :, 1:]
            a = a.reshape(len(a), p_snap)
        energy_row = a[0] * n
        force_rows = a[1 : 1 + 3 * n]
        virial_rows = None
        if self.virial:
            volume = abs(np.linalg.det(prep.cell))
            virial_rows = a[1 + 3 * n :] * volume / _BAR_PER_EV_A3
        return assemble_block(energy_row, force_rows, virial_rows, prep, settings)


def _get(settings: QSnapSettings, virial: bool) -> FitsnapDescriptors:
    key = (settings.to_json(), bool(virial))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = FitsnapDescriptors(settings, virial)
    return _CACHE[key]


def compute_block_fitsnap(
    structure, settings: QSnapSettings, virial=False, min_dist=DEFAULT_MIN_DISTANCE, label=""
):
    """The block of one structure via FitSNAP (``settings.elements`` set)."""
    return _get(settings, virial).block(structure, min_dist=min_dist, label=label)


def compute_qsnap_blocks_fitsnap(
    structures: Iterable,
    twojmax,
    *,
    virial: bool = False,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
    **hyperparameters,
) -> list[np.ndarray]:
    """Same as :func:`.lammps_snap.compute_qsnap_blocks`, computed through FitSNAP."""
    atoms_list, settings = _resolve(structures, twojmax, hyperparameters)
    calc = _get(settings, virial)
    return [calc.block(a, min_dist=min_distance, label=i) for i, a in enumerate(atoms_list)]
