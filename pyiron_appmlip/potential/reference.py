"""A fixed reference potential under the fitted SNAP model (e.g. ZBL for close approach).

SNAP is usually fitted on top of a fixed pair potential: the fitted part learns the labels minus
the reference, and LAMMPS evaluates the sum with ``pair_style hybrid/overlay``. A
:class:`ReferencePotential` is any LAMMPS pair style with its ``pair_coeff`` lines and the
element order of the atom types; :meth:`ReferencePotential.zbl` builds the usual ZBL repulsion.

How a caller uses it:

1. Remove the reference from the labels before the fit::

       reference = ReferencePotential.zbl(("Be",), inner=4.0, outer=4.8)
       residual = reference.subtract(labels, structures_by_id)  # a new Labels

   and fit the SNAP coefficients to ``residual`` as to any labels.
2. Attach it to the fitted model before export::

       model = dataclasses.replace(model, reference=reference)  # or SnapModel(..., reference=)
       model.write_lammps(folder)

   The export then writes ``pair_style hybrid/overlay <reference style> snap`` with a
   ``pair_coeff`` line per reference line (``pair_coeff * * zbl 4 4``) and the SNAP line
   (``pair_coeff * * snap <name>.snapcoeff <name>.snapparam Be``), see
   :func:`pyiron_appmlip.potential.export.pair_commands`.

:meth:`ReferencePotential.evaluate` runs LAMMPS (units metal, atom_style atomic) on each
structure in LAMMPS' lower-triangular frame (:mod:`pyiron_appmlip.descriptors.frames`, as for the
descriptors) and rotates forces and stresses back to the structure's own frame. Energies in eV,
forces in eV/Angstrom, stresses Voigt (xx, yy, zz, yz, xz, xy) in eV/Angstrom^3 with ASE's sign
(positive under tension), the convention of :class:`~pyiron_appmlip.datasets.labels.Labels`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass

import numpy as np

from ..datasets.labels import Labels
from ..descriptors.frames import to_lammps, virial_rows_from_lammps
from ..descriptors.lammps_session import close_lammps, lammps_instance

__all__ = ["ReferencePotential"]

# compute pressure's vector is xx yy zz xy xz yz; Voigt order here is xx yy zz yz xz xy
_PRESSURE_TO_VOIGT = [0, 1, 2, 5, 4, 3]
_REFUSED_STYLES = ("hybrid", "hybrid/overlay", "hybrid/scaled", "snap")


def _single_line(text, what: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    if any(c in text for c in "\n\r&#"):
        raise ValueError(f"{what} must be a single LAMMPS line without '&' or '#': {text!r}")
    text = " ".join(text.split())
    if not text:
        raise ValueError(f"{what} must not be empty")
    return text


def _type_range(spec: str, n_types: int) -> range | None:
    """Atom types of a ``pair_coeff`` type argument (``*``, ``n*``, ``*m``, ``n*m``, ``n``).

    None if it is not of that form (LAMMPS then reports it); types out of 1..n_types are kept
    (LAMMPS reports those too).
    """
    try:
        if "*" not in spec:
            return range(int(spec), int(spec) + 1)
        lo, hi = spec.split("*", 1)
        return range(int(lo) if lo else 1, (int(hi) if hi else n_types) + 1)
    except ValueError:
        return None


def _type_pairs(line: str, n_types: int) -> list[tuple[int, int]] | None:
    """The pairs ``(i, j)``, ``i <= j``, that one ``pair_coeff`` line sets (as LAMMPS does)."""
    i_spec, j_spec = line.split()[:2]
    ir, jr = _type_range(i_spec, n_types), _type_range(j_spec, n_types)
    if ir is None or jr is None:
        return None
    return [(i, j) for i in ir for j in jr if j >= i]


def _lammps_message(err: Exception) -> str:
    return " ".join(str(err).split()) or type(err).__name__


@dataclass(frozen=True)
class ReferencePotential:
    """A LAMMPS pair style evaluated under the SNAP model.

    Attributes:
        pair_style: the ``pair_style`` arguments, e.g. ``"zbl 4.0 4.8"`` (a hybrid style, or
            ``snap`` itself, is refused: the export overlays this style with ``snap``).
        pair_coeff: the arguments of each ``pair_coeff`` line, e.g. ``("* * 4 4",)`` (a leading
            ``pair_coeff`` is dropped). Atom types are 1-based positions in ``elements``.
            File names are used as given (give absolute paths to evaluate from anywhere).
        elements: element symbols of LAMMPS atom types 1..n; the SNAP model it is attached to
            must have the same element order.
        cutoff: the pair style's largest cutoff in Angstrom, needed only for structures that are
            not periodic in every direction (the vacuum added around them must exceed it);
            :meth:`zbl` sets it to ``outer``.
        check: check the lines when the reference is created (default): for ``pair_style zbl``
            the atomic numbers of every ``pair_coeff`` line must be those of the atom types'
            elements, and LAMMPS (the ``lammps`` Python module, in this process) must accept
            ``pair_style``, each ``pair_coeff`` line and a zero-step run on one atom per
            element. A line LAMMPS refuses raises a ValueError naming the argument and quoting
            LAMMPS' message. ``False`` skips both checks (:meth:`from_dict` does, so that a stored
            reference can be read where its files are not present).

    Raises:
        ValueError: for a line that is not one LAMMPS line, a hybrid or ``snap`` style, a
            ``pair_coeff`` line without two atom types, unknown or repeated elements, a cutoff
            that is not a positive number, and (with ``check``) ZBL atomic numbers that are not
            the elements' or a line that LAMMPS refuses.
    """

    pair_style: str
    pair_coeff: tuple[str, ...]
    elements: tuple[str, ...]
    cutoff: float | None = None
    check: InitVar[bool] = True

    def __post_init__(self, check: bool = True):
        from ase.data import atomic_numbers

        set_ = object.__setattr__
        style = _single_line(self.pair_style, "pair_style")
        if style.startswith("pair_style "):
            style = style[len("pair_style ") :]
        if style.split()[0] in _REFUSED_STYLES:
            raise ValueError(
                f"pair_style {style.split()[0]!r} cannot be a reference: the export overlays the "
                "reference with snap in pair_style hybrid/overlay (give one plain pair style)"
            )
        set_(self, "pair_style", style)
        lines = [self.pair_coeff] if isinstance(self.pair_coeff, str) else list(self.pair_coeff)
        coeffs = []
        for k, line in enumerate(lines):
            line = _single_line(line, f"pair_coeff[{k}]")
            if line.startswith("pair_coeff "):
                line = line[len("pair_coeff ") :]
            if len(line.split()) < 2:
                raise ValueError(
                    f"pair_coeff[{k}] must start with the two atom types (e.g. '* *'): {line!r}"
                )
            coeffs.append(line)
        if not coeffs:
            raise ValueError("pair_coeff must contain at least one line")
        set_(self, "pair_coeff", tuple(coeffs))
        elements = (self.elements,) if isinstance(self.elements, str) else tuple(self.elements)
        if not elements:
            raise ValueError("elements must not be empty")
        for e in elements:
            if not isinstance(e, str) or e not in atomic_numbers or e == "X":
                raise ValueError(f"unknown element {e!r}: not a chemical symbol")
        if len(set(elements)) != len(elements):
            raise ValueError(f"elements must not repeat a symbol, got {elements}")
        set_(self, "elements", elements)
        if self.cutoff is not None:
            cutoff = float(self.cutoff)
            if not (np.isfinite(cutoff) and cutoff > 0):
                raise ValueError(f"cutoff must be a positive number of Angstrom, got {cutoff}")
            set_(self, "cutoff", cutoff)
        if check:
            if self.style == "zbl":
                self._check_zbl_numbers()
            self._check_in_lammps()

    def _check_zbl_numbers(self) -> None:
        """ZBL's ``pair_coeff I J Z_I Z_J`` must give the atomic numbers of the types' elements."""
        from ase.data import atomic_numbers

        n = len(self.elements)
        for k, line in enumerate(self.pair_coeff):
            words = line.split()
            pairs = _type_pairs(line, n)
            if pairs is None or len(words) != 4:
                continue  # LAMMPS reports the malformed line
            try:
                z_i, z_j = float(words[2]), float(words[3])
            except ValueError:
                continue
            for i, j in pairs:
                for t, z in ((i, z_i), (j, z_j)):
                    if not 1 <= t <= n:
                        continue
                    element = self.elements[t - 1]
                    if z != atomic_numbers[element]:
                        raise ValueError(
                            f"pair_coeff[{k}] {line!r}: pair_style zbl takes the atomic numbers "
                            f"of the two atom types, but atom type {t} is {element} "
                            f"(Z = {atomic_numbers[element]}), not Z = {z:g}; the atom types "
                            f"1..{n} are the elements {list(self.elements)}"
                        )

    def _check_in_lammps(self) -> None:
        """Set the pair style up in LAMMPS on one atom per element and run zero steps."""
        from ase.data import atomic_masses, atomic_numbers

        n = len(self.elements)
        side = 4.0 * n + 8.0  # Angstrom; atoms 4 Angstrom apart on the diagonal
        types = f"the atom types 1..{n} are the elements {list(self.elements)}"
        lmp = lammps_instance()
        step = "set-up"
        try:
            lmp.commands_list(
                [
                    "clear",
                    "units metal",
                    "atom_style atomic",
                    "atom_modify map array sort 0 0",
                    "boundary p p p",
                    f"region box block 0 {side!r} 0 {side!r} 0 {side!r} units box",
                    f"create_box {n} box",
                ]
            )
            positions = [2.0 + 4.0 * t / np.sqrt(3.0) for t in range(n) for _ in range(3)]
            lmp.create_atoms(n, list(range(1, n + 1)), list(range(1, n + 1)), positions)
            lmp.commands_list(
                [
                    f"mass {i + 1} {float(atomic_masses[atomic_numbers[e]])!r}"
                    for i, e in enumerate(self.elements)
                ]
            )
            step = "pair_style"
            lmp.command(f"pair_style {self.pair_style}")
            for k, line in enumerate(self.pair_coeff):
                step = k
                lmp.command(f"pair_coeff {line}")
            step = "run"
            lmp.commands_list(["run 0 post no"])
        except Exception as err:
            close_lammps()  # the next use starts from a fresh instance
            said = f'LAMMPS says "{_lammps_message(err)}"'
            if step == "set-up":
                raise RuntimeError(
                    f"LAMMPS could not set up the check of the reference potential: {said}"
                ) from err
            if step == "pair_style":
                raise ValueError(
                    f"pair_style {self.pair_style!r} was refused by LAMMPS: {said} (a pair style "
                    "of this LAMMPS build with its arguments, e.g. 'zbl 4.0 4.8')"
                ) from None
            if step != "run":
                raise ValueError(
                    f"pair_coeff[{step}] {self.pair_coeff[step]!r} was refused by LAMMPS "
                    f"(pair_style {self.pair_style!r}): {said}; {types}"
                ) from None
            covered = set()
            for line in self.pair_coeff:
                covered.update(_type_pairs(line, n) or [])
            unset = [
                f"{i} {j} ({self.elements[i - 1]}-{self.elements[j - 1]})"
                for i in range(1, n + 1)
                for j in range(i, n + 1)
                if (i, j) not in covered
            ]
            hint = f"; no pair_coeff line sets the type pair(s) {unset}" if unset else ""
            raise ValueError(
                f"pair_style {self.pair_style!r} with pair_coeff {list(self.pair_coeff)} cannot "
                f"be evaluated by LAMMPS: {said}{hint}; {types}"
            ) from None

    @classmethod
    def zbl(
        cls, elements: Sequence[str] | str, inner: float = 4.0, outer: float = 4.8
    ) -> ReferencePotential:
        """The ZBL screened nuclear repulsion (``pair_style zbl inner outer``).

        Args:
            elements: element symbols in atom-type order; Z is their atomic number.
            inner: distance (Angstrom) where the switching function starts.
            outer: cutoff (Angstrom), where energy, force and curvature reach zero.

        Returns:
            One element: ``pair_coeff * * Z Z``; several: one line ``I J Z_I Z_J`` per pair of
            types ``I <= J``.
        """
        from ase.data import atomic_numbers

        elements = (elements,) if isinstance(elements, str) else tuple(elements)
        if not elements:
            raise ValueError(
                "ReferencePotential.zbl: no elements were given (elements is empty); pass the "
                "element symbols of the atom types in order, e.g. ('Be',) or ('W', 'Be')"
            )
        inner, outer = float(inner), float(outer)
        if not (0 < inner < outer):
            raise ValueError(f"ZBL needs 0 < inner < outer, got inner={inner}, outer={outer}")
        z = [atomic_numbers.get(e) for e in elements]
        if any(v is None for v in z):
            unknown = [e for e, v in zip(elements, z, strict=True) if v is None]
            raise ValueError(f"unknown element(s) {unknown}: not chemical symbols")
        if len(elements) == 1:
            coeffs = [f"* * {z[0]} {z[0]}"]
        else:
            coeffs = [
                f"{i + 1} {j + 1} {z[i]} {z[j]}"
                for i in range(len(elements))
                for j in range(i, len(elements))
            ]
        return cls(f"zbl {inner!r} {outer!r}", coeffs, elements, cutoff=outer)

    # -- LAMMPS lines ------------------------------------------------------------------------
    @property
    def style(self) -> str:
        """The pair style's name (first word of :attr:`pair_style`)."""
        return self.pair_style.split()[0]

    def commands(self) -> list[str]:
        """The LAMMPS lines of the reference on its own (``pair_style``, ``pair_coeff`` ...)."""
        return [f"pair_style {self.pair_style}"] + [f"pair_coeff {c}" for c in self.pair_coeff]

    def overlay_coeff_lines(self) -> list[str]:
        """Its ``pair_coeff`` lines inside ``pair_style hybrid/overlay``: ``I J <style> args``."""
        out = []
        for c in self.pair_coeff:
            i, j, *rest = c.split()
            out.append(" ".join(["pair_coeff", i, j, self.style, *rest]))
        return out

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, structures: Iterable) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Energies, forces and stresses of the reference, computed by LAMMPS.

        Args:
            structures: ASE or pyiron structures (a list; a single ``Atoms`` is refused).

        Returns:
            ``(energies, forces, stresses)``: (M,) eV; a list of (N_m, 3) eV/Angstrom in each
            structure's frame and atom order; (M, 6) Voigt eV/Angstrom^3, ASE's sign.

        Raises:
            ValueError: for an element not in :attr:`elements`, an empty structure, or a
                structure not periodic in every direction while :attr:`cutoff` is unknown.
        """
        from ase import Atoms

        from ..structures.conversion import to_ase_list

        if isinstance(structures, Atoms):
            raise TypeError("structures must be a list of structures, got a single Atoms object")
        atoms_list = to_ase_list(structures)
        energies = np.empty(len(atoms_list))
        forces, stresses = [], np.empty((len(atoms_list), 6))
        for k, atoms in enumerate(atoms_list):
            energies[k], f, stresses[k] = self._evaluate_one(atoms, label=k)
            forces.append(f)
        return energies, forces, stresses

    def _evaluate_one(self, atoms, label) -> tuple[float, np.ndarray, np.ndarray]:
        from ase.data import atomic_masses, atomic_numbers

        n = len(atoms)
        if n == 0:
            raise ValueError(f"structure {label} has no atoms")
        index = {e: i for i, e in enumerate(self.elements)}
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(index))
        if unknown:
            raise ValueError(
                f"unknown element(s) {unknown} in structure {label}: the reference potential's "
                f"elements are {list(self.elements)}"
            )
        pbc = np.asarray(atoms.get_pbc(), dtype=bool)
        if not pbc.all() and self.cutoff is None:
            raise ValueError(
                f"structure {label} is not periodic in every direction: give the reference "
                "potential its cutoff (ReferencePotential(..., cutoff=...)) so the vacuum "
                "around it can be made wide enough"
            )
        try:
            pos, cell, q = to_lammps(
                atoms.get_positions(), atoms.get_cell(), pbc, self.cutoff or 0.0
            )
        except ValueError as err:
            raise ValueError(f"structure {label}: {err}") from None
        types = [index[s] + 1 for s in symbols]
        xhi, yhi, zhi = (float(cell[i, i]) for i in range(3))
        xy, xz, yz = float(cell[1, 0]), float(cell[2, 0]), float(cell[2, 1])
        lmp = lammps_instance()
        try:
            lmp.commands_list(
                [
                    "clear",
                    "units metal",
                    "atom_style atomic",
                    "atom_modify map array sort 0 0",
                    "boundary p p p",
                    f"region box prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r} "
                    "units box",
                    f"create_box {len(self.elements)} box",
                ]
            )
            lmp.create_atoms(n, list(range(1, n + 1)), types, pos.ravel().tolist())
            if int(lmp.get_natoms()) != n:
                raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms")
            masses = [
                f"mass {i + 1} {float(atomic_masses[atomic_numbers[e]])!r}"
                for i, e in enumerate(self.elements)
            ]
            lmp.commands_list(
                masses
                + self.commands()
                + [
                    "compute ref_pe all pe",
                    "compute ref_virial all pressure NULL virial",
                    "thermo_style custom step c_ref_pe c_ref_virial[*]",
                    "run 0 post no",
                ]
            )
            energy = float(lmp.extract_compute("ref_pe", 0, 0))
            pressure = np.array(lmp.numpy.extract_compute("ref_virial", 0, 1), dtype=float)
            ids = np.array(lmp.numpy.extract_atom("id"), dtype=np.int64).ravel()[:n]
            f_lmp = np.array(lmp.numpy.extract_atom("f"), dtype=float)[:n].copy()
            nktv2p = float(lmp.extract_global("nktv2p"))
        except Exception:
            close_lammps()  # start the next structure from a fresh instance
            raise
        forces = np.empty((n, 3))
        forces[ids - 1] = f_lmp
        forces = forces @ q.T
        # LAMMPS' pressure (bar, compressive positive) -> ASE stress (eV/Angstrom^3), rotated back
        stress_lmp = -pressure[_PRESSURE_TO_VOIGT] / nktv2p
        stress = virial_rows_from_lammps(stress_lmp[:, None], q)[:, 0]
        return energy, forces, stress

    def subtract(self, labels: Labels, structures_by_id) -> Labels:
        """New labels with the reference removed from energies, forces and recorded stresses.

        Args:
            labels: the labels (e.g. DFT) of the configurations.
            structures_by_id: ``{configuration id: structure}`` covering every id of
                ``labels``, or an iterable of structures (keyed by their
                :func:`~pyiron_appmlip.structures.conversion.configuration_id`).

        Returns:
            A new :class:`Labels`: energies, forces and (where recorded) stresses minus the
            reference; wall times (and their clock), job id, volumes, groups and k-point counts
            copied; ``labels`` is unchanged.

        Raises:
            KeyError: for a configuration of ``labels`` without a structure.
            ValueError: where a structure's atom count differs from its forces'.
        """
        from ..structures.conversion import configuration_id

        if not isinstance(structures_by_id, Mapping):
            structures_by_id = {configuration_id(s): s for s in structures_by_id}
        ids = list(labels.energies)
        missing = [i for i in ids if i not in structures_by_id]
        if missing:
            raise KeyError(
                f"no structure for {len(missing)} labelled configuration(s), e.g. {missing[:3]}"
            )
        structures = [structures_by_id[i] for i in ids]
        energies, forces, stresses = self.evaluate(structures) if ids else ([], [], [])
        new_energies, new_forces, new_stresses = {}, {}, {}
        for k, cid in enumerate(ids):
            f = np.asarray(labels.forces[cid], dtype=float).reshape(-1, 3)
            if f.shape != forces[k].shape:
                raise ValueError(
                    f"configuration {cid!r}: its labels have forces on {len(f)} atoms but its "
                    f"structure has {len(forces[k])}"
                )
            new_energies[cid] = float(labels.energies[cid]) - float(energies[k])
            new_forces[cid] = f - forces[k]
            if labels.stresses is not None and cid in labels.stresses:
                s = np.asarray(labels.stresses[cid], dtype=float)
                new_stresses[cid] = s if np.isnan(s).all() else s - stresses[k]
        return Labels(
            energies=new_energies,
            forces=new_forces,
            wall_times=dict(labels.wall_times),
            job_id=labels.job_id,
            stresses=None if labels.stresses is None else new_stresses,
            volumes=None if labels.volumes is None else dict(labels.volumes),
            groups=None if labels.groups is None else dict(labels.groups),
            cost_clock=labels.cost_clock,
            n_kpoints=None if labels.n_kpoints is None else dict(labels.n_kpoints),
        )

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain values (JSON- and HDF5-friendly); inverse of :meth:`from_dict`."""
        d = {
            "pair_style": self.pair_style,
            "pair_coeff": list(self.pair_coeff),
            "elements": list(self.elements),
        }
        if self.cutoff is not None:
            d["cutoff"] = self.cutoff
        return d

    @classmethod
    def from_dict(cls, data: Mapping) -> ReferencePotential:
        """Inverse of :meth:`to_dict`.

        The stored lines are not run in LAMMPS again (``check=False``): they were checked when
        the reference was created, and files a line names need not exist where it is read.
        """

        def text(v):
            return v.decode() if isinstance(v, bytes) else str(v)

        cutoff = data.get("cutoff")
        return cls(
            pair_style=text(data["pair_style"]),
            pair_coeff=tuple(text(c) for c in data["pair_coeff"]),
            elements=tuple(text(e) for e in data["elements"]),
            cutoff=None if cutoff is None else float(cutoff),
            check=False,
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ReferencePotential:
        """Inverse of :meth:`to_json`."""
        if isinstance(text, bytes):
            text = text.decode()
        return cls.from_dict(json.loads(text))
