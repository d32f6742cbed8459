"""VASP single-point calculations at a convergence level, through pyiron_atomistics' ``Vasp`` job.

- :func:`vasp_incar` and :func:`vasp_kpoints` give the INCAR tags and the KPOINTS file of a level:
  ``ENCUT``, Methfessel-Paxton order 1 (``ISMEAR = 1``) with ``SIGMA``, a static calculation
  (``IBRION = -1``, ``NSW = 0``), no symmetry (``ISYM = 0``), ``PREC = Accurate``, no WAVECAR or
  CHGCAR, and an explicit Gamma-centred k-point mesh from :func:`pyiron_appmlip.dft.levels.kmesh`
  (not ``KSPACING``), so that VASP and GPAW sample the same mesh for the same level.
- :func:`configure_vasp_job` applies a level to a pyiron ``Vasp`` job; :func:`run_vasp` creates,
  runs and parses such a job. pyiron needs its VASP resources for this: POTCARs under
  ``<resource_path>/vasp/potentials`` (``potentials_vasp.csv``, ``potentials_vasp_pbe_default.csv``)
  and an executable script ``<resource_path>/vasp/bin/run_vasp_<version>.sh``.
- :func:`write_vasp_input` writes POSCAR, INCAR and KPOINTS with ASE alone (no POTCAR), for
  machines without a pyiron VASP set-up.
- :func:`parse_vasp_output` reads ``vasprun.xml`` (preferred) or ``OUTCAR`` into a
  :class:`~pyiron_appmlip.dft.engines.base.SinglePointResult` with the same conventions as the GPAW
  engine: ``energy`` is VASP's ``free energy TOTEN``, ``energy_zero`` its ``energy(sigma->0)``,
  stress in eV/Angstrom^3 with ASE's sign (VASP prints kBar with the opposite sign).

Note: with ``ISYM = 0`` VASP still uses time-reversal symmetry (k and -k), so ``n_kpoints`` of a VASP
record can be about half of the GPAW one for the same mesh (GPAW here runs without any symmetry).
"""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np

from ..levels import get_level, kmesh
from .base import SinglePointResult, failed_result, format_exception

__all__ = [
    "vasp_incar",
    "vasp_kpoints",
    "configure_vasp_job",
    "write_vasp_input",
    "parse_vasp_output",
    "run_vasp",
    "vasp_option_names",
    "DEFAULT_EDIFF",
    "DEFAULT_NELM",
]

ENGINE = "vasp"
DEFAULT_EDIFF = 1.0e-6  # eV, total energy change between SCF steps
DEFAULT_NELM = 200


def vasp_incar(level, maxiter: int | None = None, ediff: float = DEFAULT_EDIFF) -> dict:
    """INCAR tags of a single-point calculation at ``level`` (values as Python objects)."""
    level = get_level(level)
    if level.xc != "PBE":  # pragma: no cover - ConvergenceLevel only accepts PBE
        raise ValueError(f"xc must be 'PBE' for VASP, got {level.xc!r}")
    return {
        "PREC": "Accurate",
        "ENCUT": float(level.encut),
        "ISMEAR": 1,
        "SIGMA": float(level.sigma),
        "IBRION": -1,
        "NSW": 0,
        "ISYM": 0,
        "ISPIN": 1,
        "EDIFF": float(ediff),
        "NELM": DEFAULT_NELM if maxiter is None else int(maxiter),
        "LREAL": False,
        "LWAVE": False,
        "LCHARG": False,
    }


def vasp_kpoints(cell, level) -> str:
    """Text of an explicit Gamma-centred KPOINTS file for ``cell`` at ``level``."""
    mesh = kmesh(cell, get_level(level).kspacing)
    return "Gamma-centred mesh from pyiron_appmlip.dft.levels.kmesh\n0\nGamma\n{} {} {}\n0 0 0\n".format(
        *mesh
    )


def _incar_text(tags: dict) -> str:
    def fmt(value):
        if isinstance(value, bool):
            return ".TRUE." if value else ".FALSE."
        return str(value)

    return "".join(f"{key} = {fmt(value)}\n" for key, value in tags.items())


def write_vasp_input(atoms, level, directory, maxiter: int | None = None) -> dict:
    """Write POSCAR, INCAR and KPOINTS for ``atoms`` at ``level`` into ``directory`` (ASE only).

    No POTCAR is written (it needs licensed VASP potentials).

    Args:
        atoms: ASE or pyiron structure.
        level: level number, ConvergenceLevel or dict.
        directory: folder for the files (created if missing).
        maxiter: NELM (default :data:`DEFAULT_NELM`).

    Returns:
        ``{file name: path}``.
    """
    from ase.io import write

    from ...structures.conversion import to_ase

    atoms = to_ase(atoms)
    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in ("POSCAR", "INCAR", "KPOINTS")}
    contents = {
        "INCAR": _incar_text(vasp_incar(level, maxiter=maxiter)),
        "KPOINTS": vasp_kpoints(atoms.get_cell(), level),
    }
    write(paths["POSCAR"] + ".tmp", atoms, format="vasp", direct=False, sort=False)
    os.replace(paths["POSCAR"] + ".tmp", paths["POSCAR"])
    for name, text in contents.items():
        with open(paths[name] + ".tmp", "w") as handle:
            handle.write(text)
        os.replace(paths[name] + ".tmp", paths[name])
    return paths


def configure_vasp_job(job, structure, level, maxiter: int | None = None, ediff=DEFAULT_EDIFF):
    """Set up a pyiron_atomistics ``Vasp`` job for a single point of ``structure`` at ``level``.

    Sets the structure, a static calculation, the INCAR tags of :func:`vasp_incar` and an explicit
    Gamma-centred k-point mesh from :func:`~pyiron_appmlip.dft.levels.kmesh` (KPOINTS file, not
    KSPACING).

    Args:
        job: the pyiron ``Vasp`` job.
        structure: ASE or pyiron structure.
        level: level number, ConvergenceLevel or dict.
        maxiter: NELM (default :data:`DEFAULT_NELM`).
        ediff: EDIFF (eV).

    Returns:
        The job.
    """
    from ...structures.conversion import to_ase

    level = get_level(level)
    atoms = to_ase(structure)
    try:
        from pyiron_atomistics import ase_to_pyiron

        job.structure = ase_to_pyiron(atoms)
    except ImportError:  # pragma: no cover - pyiron_atomistics is a dependency
        job.structure = atoms
    job.calc_static()
    tags = vasp_incar(level, maxiter=maxiter, ediff=ediff)
    incar = job.input.incar
    for key, value in tags.items():
        incar[key] = value
    if "KSPACING" in incar.keys():
        del incar["KSPACING"]
    job.set_kpoints(mesh=list(kmesh(atoms.get_cell(), level.kspacing)), scheme="GC")
    return job


def run_vasp(
    structure,
    level,
    project,
    job_name: str,
    maxiter: int | None = None,
    ediff: float = DEFAULT_EDIFF,
    cores: int | None = None,
    executable_version: str | None = None,
    delete_existing_job: bool = False,
    master_id: int | None = None,
) -> SinglePointResult:
    """Run one VASP single point as a pyiron ``Vasp`` job (modal) and parse it.

    Args:
        structure: ASE or pyiron structure.
        level: level number, ConvergenceLevel or dict.
        project: pyiron Project in which the Vasp job is created.
        job_name: name of the Vasp job. An existing finished job of that name is parsed, not rerun.
        maxiter: NELM.
        ediff: EDIFF (eV).
        cores: ``job.server.cores``.
        executable_version: ``job.executable.version``.
        delete_existing_job: passed to ``project.create.job.Vasp``.
        master_id: job id recorded as the Vasp job's master (so that removing the master removes
            the Vasp job too).

    Returns:
        SinglePointResult; ``status="failed"`` if VASP or pyiron failed, or the SCF did not reach
        EDIFF within NELM steps.
    """
    level = get_level(level)
    start = time.perf_counter()
    job = None
    try:
        job = project.create.job.Vasp(job_name, delete_existing_job=delete_existing_job)
        if job.status.finished or job.status.not_converged:
            return parse_vasp_output(_output_directory(job), level=level)
        configure_vasp_job(job, structure, level, maxiter=maxiter, ediff=ediff)
        if cores is not None:
            job.server.cores = int(cores)
        if executable_version is not None:
            job.executable.version = executable_version
        if master_id is not None:
            job.master_id = int(master_id)
        job.server.run_mode.modal = True
        job.run()
    except Exception as exc:
        return failed_result(
            ENGINE,
            f"pyiron Vasp job {job_name!r} failed: {format_exception(exc)}",
            wall_time=time.perf_counter() - start,
            level=level.to_dict(),
        )
    if job.status.aborted:
        return failed_result(
            ENGINE,
            f"pyiron Vasp job {job_name!r} ended with status 'aborted' "
            f"(see {job.working_directory})",
            wall_time=time.perf_counter() - start,
            level=level.to_dict(),
        )
    result = parse_vasp_output(_output_directory(job), level=level)
    if not np.isfinite(result.wall_time):
        result.wall_time = time.perf_counter() - start
    return result


#: Arguments of :func:`run_vasp` that the calling job sets itself (no engine options).
_SET_BY_THE_JOB = frozenset(
    {"structure", "level", "project", "job_name", "delete_existing_job", "master_id"}
)


def vasp_option_names() -> list[str]:
    """Names a labelling or single-point job accepts in ``engine_options`` for VASP, sorted.

    The keyword arguments of :func:`run_vasp` that the job does not set itself: ``maxiter``
    (INCAR ``NELM``), ``ediff`` (``EDIFF``), ``cores`` and ``executable_version``. The other
    INCAR tags are fixed by the level (:func:`vasp_incar`).
    """
    import inspect

    return sorted(set(inspect.signature(run_vasp).parameters) - _SET_BY_THE_JOB)


def _output_directory(job) -> str:
    try:
        if job.is_compressed():
            job.decompress()
    except Exception:  # pragma: no cover - older pyiron_base without compression helpers
        pass
    return job.working_directory


# --------------------------------------------------------------------------------- parsing
def parse_vasp_output(path, level=None) -> SinglePointResult:
    """Parse a finished VASP single point into a :class:`SinglePointResult`.

    The last ionic step is used. The SCF counts as converged if VASP did not report
    ``EDIFF was not reached`` and used fewer than NELM electronic steps. ``wall_time`` is the OUTCAR
    ``Elapsed time``, else the sum of vasprun.xml's SCF times, else NaN.

    Args:
        path: a directory with ``vasprun.xml`` and/or ``OUTCAR``, or the path of one of them.
        level: the level of the calculation, stored in the record (optional).
    """
    level_dict = get_level(level).to_dict() if level is not None else {}
    try:
        vasprun, outcar = _locate(path)
        source = vasprun or outcar
        if source is None:
            raise FileNotFoundError(f"no vasprun.xml or OUTCAR in {path}")
        info = _vasprun_info(vasprun) if vasprun else {}
        out = _outcar_info(outcar) if outcar else {}
        for key, value in out.items():
            if info.get(key) in (None, "", -1) or key in ("wall_time", "unconverged_message"):
                info[key] = value if value is not None else info.get(key)
        atoms = _read_last(source)
    except Exception as exc:
        return failed_result(ENGINE, format_exception(exc), level=level_dict)

    if not info.get("kmesh") and info.get("n_kpoints") == 1:
        info["kmesh"] = (1, 1, 1)  # Gamma only (e.g. the Gamma-only VASP build, no mesh echo)
    n_iter = int(info.get("n_scf_iterations", -1))
    nelm = info.get("nelm")
    converged = not info.get("unconverged_message", False)
    if converged and nelm is not None and n_iter >= int(nelm):
        converged = False
    common = {
        "engine": ENGINE,
        "engine_version": info.get("version", ""),
        "n_atoms": len(atoms),
        "kmesh": info.get("kmesh") or (0, 0, 0),
        "n_kpoints": int(info.get("n_kpoints") or 0),
        "n_scf_iterations": n_iter,
        "pseudopotentials": info.get("pseudopotentials", ""),
        "level": level_dict,
        "wall_time": float(info.get("wall_time", float("nan"))),
    }
    if not converged:
        return failed_result(
            error=f"SCF not converged: {n_iter} electronic steps (NELM={nelm})",
            converged=False,
            **common,
        )
    try:
        energy = atoms.get_potential_energy(force_consistent=True)
        energy_zero = atoms.get_potential_energy()
        forces = atoms.get_forces()
        try:
            stress = atoms.get_stress(voigt=True)
        except Exception:
            stress = None
    except Exception as exc:
        return failed_result(error=format_exception(exc), **common)
    return SinglePointResult(
        status="finished",
        energy=float(energy),
        energy_zero=float(energy_zero),
        forces=np.asarray(forces, dtype=float),
        stress=None if stress is None else np.asarray(stress, dtype=float),
        converged=True,
        **common,
    )


def _locate(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        vasprun = os.path.join(path, "vasprun.xml")
        outcar = os.path.join(path, "OUTCAR")
        return (vasprun if os.path.isfile(vasprun) else None), (
            outcar if os.path.isfile(outcar) else None
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist")
    if path.endswith(".xml"):
        return path, None
    return None, path


def _read_last(path):
    from ase.io import read

    fmt = "vasp-xml" if path.endswith(".xml") else "vasp-out"
    return read(path, index=-1, format=fmt)


def _vasprun_info(path) -> dict:
    root = ET.parse(path).getroot()
    info: dict = {}
    version = root.find("./generator/i[@name='version']")
    if version is not None and version.text:
        info["version"] = version.text.strip()
    divisions = root.find("./kpoints/generation/v[@name='divisions']")
    if divisions is not None and divisions.text:
        info["kmesh"] = tuple(int(v) for v in divisions.text.split())
    kpoints = root.find("./kpoints/varray[@name='kpointlist']")
    if kpoints is not None:
        info["n_kpoints"] = len(kpoints.findall("v"))
    nelm = root.find(".//parameters//i[@name='NELM']")
    if nelm is not None and nelm.text:
        info["nelm"] = int(nelm.text)
    pseudos = []
    for rc in root.findall("./atominfo/array[@name='atomtypes']/set/rc"):
        cells = [c.text.strip() for c in rc.findall("c") if c.text]
        if cells:
            pseudos.append(cells[-1])
    info["pseudopotentials"] = "; ".join(pseudos)
    calculations = root.findall("calculation")
    if calculations:
        info["n_scf_iterations"] = len(calculations[-1].findall("scstep"))
        seconds = 0.0
        for calc in calculations:
            t = calc.find("time[@name='totalsc']")
            if t is not None and t.text:
                seconds += float(t.text.split()[-1])
        info["wall_time"] = seconds if seconds > 0 else float("nan")
    return info


_ITERATION = re.compile(r"-+\s*Iteration\s+(\d+)\s*\(\s*(\d+)\s*\)")


def _outcar_info(path) -> dict:
    info: dict = {"unconverged_message": False}
    pseudos: list[str] = []
    last_ionic, last_scf = 0, 0
    with open(path, errors="replace") as handle:
        for number, line in enumerate(handle):
            if number == 0 and line.strip().startswith("vasp."):
                info["version"] = line.split()[0].replace("vasp.", "")
            match = _ITERATION.search(line)
            if match:
                ionic, scf = int(match.group(1)), int(match.group(2))
                if ionic != last_ionic:
                    last_ionic, last_scf = ionic, 0
                last_scf = max(last_scf, scf)
            elif "aborting loop" in line:
                info["unconverged_message"] = "unconverged" in line or "not reached" in line
            elif line.startswith(" POTCAR:") and line.strip() not in pseudos:
                pseudos.append(line.split(":", 1)[1].strip())
            elif "NELM" in line and "=" in line and "NELMIN" in line:
                info["nelm"] = int(line.split("=")[1].split(";")[0])
            elif "NKPTS =" in line:
                info["n_kpoints"] = int(line.split("NKPTS =")[1].split()[0])
            elif "generate k-points for:" in line:
                info["kmesh"] = tuple(int(v) for v in line.split(":")[1].split()[:3])
            elif "Elapsed time (sec):" in line:
                info["wall_time"] = float(line.split(":")[1])
    info["n_scf_iterations"] = last_scf if last_ionic else -1
    info["pseudopotentials"] = "; ".join(dict.fromkeys(pseudos))
    return info
