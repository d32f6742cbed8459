"""GPAW single-point calculations at a convergence level (plane waves, PBE, PAW).

:func:`run_gpaw` runs one calculation with the classic calculator ``gpaw.calculator.GPAW`` (in GPAW
26.x, ``gpaw.GPAW`` is a different, new calculator class) and returns a
:class:`~pyiron_appmlip.dft.engines.base.SinglePointResult`:

- plane-wave basis with cut-off ``level.encut`` (eV), exchange-correlation ``level.xc`` (PBE);
- Methfessel-Paxton smearing of order 1 and width ``level.sigma`` (as VASP ISMEAR=1, SIGMA);
- a Gamma-centred k-point mesh from :func:`pyiron_appmlip.dft.levels.kmesh` (Gamma only for
  ``kspacing=None``), with all symmetry switched off (no point group, no time reversal), so
  ``n_kpoints`` equals the number of mesh points;
- spin-unpolarised; PAW setups from the ``gpaw-data`` package (nothing is downloaded).

``energy`` is the free energy (force-consistent), ``energy_zero`` the zero-width extrapolation; see
:mod:`pyiron_appmlip.dft.engines.base` for all units. A calculation that does not converge within
``maxiter`` SCF iterations or raises returns ``status="failed"`` with the reason and no data. A
missing PAW setup is a set-up error and raises :class:`MissingSetupError` before anything runs.
"""

from __future__ import annotations

import glob
import os
import time

import numpy as np

from ..levels import ConvergenceLevel, get_level, kmesh
from .base import SinglePointResult, failed_result, format_exception

__all__ = [
    "run_gpaw",
    "gpaw_option_names",
    "check_setups",
    "gpaw_calculator_parameters",
    "MissingSetupError",
    "DEFAULT_CONVERGENCE",
    "DEFAULT_MAXITER",
]

ENGINE = "gpaw"
#: SCF convergence criteria (GPAW units: energy in eV per valence electron over the last three
#: iterations, density in electrons per valence electron, eigenstates in eV^2 per electron).
DEFAULT_CONVERGENCE = {"energy": 1.0e-6, "density": 1.0e-5, "eigenstates": 1.0e-8}
DEFAULT_MAXITER = 200


#: ``gpaw.calculator.GPAW`` keywords that are no engine options: the engine sets ``txt`` (the job
#: writes its log into the working directory), and restart files, labels, timers and MPI
#: communicators are objects or files that a single point from a structure does not take.
_NOT_OPTIONS = frozenset(
    {
        "txt",
        "restart",
        "ignore_bad_restart_file",
        "label",
        "atoms",
        "directory",
        "timer",
        "communicator",
    }
)


def gpaw_option_names() -> list[str]:
    """Names a labelling or single-point job accepts in ``engine_options`` for GPAW, sorted.

    The keyword arguments of the classic calculator ``gpaw.calculator.GPAW`` - its
    ``default_parameters`` plus the named arguments of its ``__init__`` (``parallel``) - except
    the ones listed in ``_NOT_OPTIONS``, plus :func:`run_gpaw`'s own ``blas_threads``.
    """
    import inspect

    from ase.calculators.calculator import Calculator
    from gpaw.calculator import GPAW

    names = set(GPAW.default_parameters)
    # GPAW.__init__ passes its other keywords to ase's Calculator.__init__ (which does not call
    # its own base class' constructor): their named arguments are the extra keywords
    for cls in (GPAW, Calculator):
        for name, parameter in inspect.signature(cls.__init__).parameters.items():
            if name != "self" and parameter.kind not in (
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.VAR_POSITIONAL,
            ):
                names.add(name)
    names.add("blas_threads")
    return sorted(names - _NOT_OPTIONS)


class MissingSetupError(ValueError):
    """An element has no PAW setup for the requested functional in GPAW's setup paths."""


def _setup_paths() -> list[str]:
    import gpaw

    return [str(p) for p in gpaw.setup_paths]


def check_setups(symbols, xc: str = "PBE") -> None:
    """Raise :class:`MissingSetupError` unless every element in ``symbols`` has a PAW setup.

    GPAW looks for ``<symbol>.<xc>`` or ``<symbol>.<xc>.gz`` in ``gpaw.setup_paths`` (the
    ``gpaw-data`` package, plus ``GPAW_SETUP_PATH``); this does the same look-up, without reading
    the files.
    """
    paths = _setup_paths()
    missing = []
    for symbol in sorted(set(symbols)):
        name = f"{symbol}.{xc}"
        found = any(
            glob.glob(os.path.join(path, name)) or glob.glob(os.path.join(path, name + ".gz"))
            for path in paths
        )
        if not found:
            missing.append(symbol)
    if missing:
        raise MissingSetupError(
            f"no GPAW PAW setup for element(s) {missing} with xc={xc!r} in the setup paths "
            f"{paths}; elements need a '<symbol>.{xc}[.gz]' file there (package gpaw-data, or "
            f"set GPAW_SETUP_PATH)"
        )


def _versions() -> tuple[str, str]:
    import gpaw

    try:
        import gpaw_data

        data = f"gpaw-data {gpaw_data.__version__}"
    except ImportError:  # pragma: no cover - setups from GPAW_SETUP_PATH only
        data = "GPAW setups from " + os.pathsep.join(_setup_paths())
    return str(gpaw.__version__), data


def gpaw_calculator_parameters(
    atoms, level, txt=None, maxiter: int | None = None, **overrides
) -> dict:
    """Keyword arguments of ``gpaw.calculator.GPAW`` for ``atoms`` at ``level``.

    Args:
        atoms: ASE structure.
        level: paper level number 1..6, :class:`~pyiron_appmlip.dft.levels.ConvergenceLevel` or dict.
        txt: GPAW log file (path or ``"-"`` for stdout); None writes no log.
        maxiter: maximum number of SCF iterations (default :data:`DEFAULT_MAXITER`).
        **overrides: replace single entries (e.g. ``convergence={...}``, ``parallel={...}``).
    """
    from gpaw import PW

    level = get_level(level)
    mesh = kmesh(atoms.get_cell(), level.kspacing)
    params = {
        "mode": PW(level.encut),
        "xc": level.xc,
        "occupations": {"name": "methfessel-paxton", "width": level.sigma, "order": 1},
        "kpts": {"size": mesh, "gamma": True},
        "symmetry": "off",
        "spinpol": False,
        "convergence": dict(DEFAULT_CONVERGENCE),
        "maxiter": DEFAULT_MAXITER if maxiter is None else int(maxiter),
        "txt": txt,
    }
    params.update(overrides)
    return params


def run_gpaw(
    atoms, level, txt=None, maxiter: int | None = None, blas_threads: int | None = 1, **overrides
) -> SinglePointResult:
    """Run one GPAW single-point calculation of ``atoms`` at convergence ``level``.

    Args:
        atoms: ASE or pyiron structure (periodic in all directions for stress).
        level: paper level number 1..6, :class:`~pyiron_appmlip.dft.levels.ConvergenceLevel` or dict.
        txt: GPAW log file (path or ``"-"`` for stdout); None writes no log.
        maxiter: maximum number of SCF iterations (default :data:`DEFAULT_MAXITER`).
        blas_threads: BLAS/OpenMP threads during the calculation (default 1; None leaves the
            process setting). Serial GPAW on small cells is many times slower with threaded BLAS
            when another BLAS user shares the cores (130 s instead of 27 s for an 8-atom cell
            at level 3 on 2 cores: benchmarks/bench_gpaw_threads.py --load); parallelise over
            calculations instead.
        **overrides: further ``gpaw.calculator.GPAW`` keyword arguments, replacing the defaults.

    Returns:
        SinglePointResult with ``engine="gpaw"``; ``status="failed"`` and ``error`` if the SCF did
        not converge or GPAW raised.

    Raises:
        MissingSetupError: an element has no PAW setup (checked before running).
        ValueError: invalid level.
    """
    from gpaw import ConvergenceError
    from gpaw.calculator import GPAW

    from ...structures.conversion import to_ase

    level: ConvergenceLevel = get_level(level)
    atoms = to_ase(atoms)
    check_setups(atoms.get_chemical_symbols(), level.xc)
    version, setups = _versions()
    params = gpaw_calculator_parameters(atoms, level, txt=txt, maxiter=maxiter, **overrides)
    mesh = tuple(int(k) for k in params["kpts"]["size"])
    common = {
        "engine": ENGINE,
        "engine_version": version,
        "n_atoms": len(atoms),
        "kmesh": mesh,
        "n_kpoints": int(np.prod(mesh)),
        "pseudopotentials": setups,
        "level": level.to_dict(),
    }
    calc = None
    limits = _thread_limits(blas_threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        calc = GPAW(**params)
        atoms.calc = calc
        energy = atoms.get_potential_energy(force_consistent=True)
        energy_zero = atoms.get_potential_energy()
        forces = atoms.get_forces()
        stress = atoms.get_stress(voigt=True) if all(atoms.pbc) else None
    except ConvergenceError as exc:
        return failed_result(
            error=f"SCF not converged within maxiter={params['maxiter']} iterations "
            f"({type(exc).__name__}: {exc})",
            wall_time=time.perf_counter() - start,
            cpu_time=time.process_time() - cpu_start,
            n_scf_iterations=_niter(calc),
            **common,
        )
    except Exception as exc:  # any crash of the calculation is recorded, never raised
        return failed_result(
            error=format_exception(exc),
            wall_time=time.perf_counter() - start,
            cpu_time=time.process_time() - cpu_start,
            n_scf_iterations=_niter(calc),
            **common,
        )
    finally:
        if limits is not None:
            limits.restore_original_limits()
    wall_time = time.perf_counter() - start
    cpu_time = time.process_time() - cpu_start
    n_ibz = _n_ibz(calc)
    return SinglePointResult(
        status="finished",
        energy=float(energy),
        energy_zero=float(energy_zero),
        forces=np.array(forces, dtype=float),
        stress=None if stress is None else np.array(stress, dtype=float),
        wall_time=wall_time,
        cpu_time=cpu_time,
        n_scf_iterations=_niter(calc),
        converged=bool(getattr(getattr(calc, "scf", None), "converged", True)),
        **{**common, "n_kpoints": n_ibz or common["n_kpoints"]},
    )


def _thread_limits(blas_threads):
    """Limit BLAS/OpenMP thread pools (threadpoolctl) for the duration of a calculation."""
    if blas_threads is None:
        return None
    if int(blas_threads) < 1:
        raise ValueError(f"blas_threads must be a positive integer or None, got {blas_threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return threadpool_limits(limits=int(blas_threads))


def _niter(calc) -> int:
    try:
        return int(calc.scf.niter)
    except Exception:
        return -1


def _n_ibz(calc) -> int | None:
    try:
        return int(calc.wfs.kd.nibzkpts)
    except Exception:
        return None
