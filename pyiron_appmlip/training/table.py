"""The fit table: one row per fitted model, its columns declared once.

Every table of fits in the package (the :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` and
:class:`~pyiron_appmlip.jobs.fit.AppmlipFit` jobs, :func:`~pyiron_appmlip.training.sweep.run_sweep`,
:func:`~pyiron_appmlip.training.sweep.fit_table`) has exactly the columns of :data:`COLUMNS`, in
that order. The study layer (recommendation, Pareto fronts, plots, the findings report) reads
tables through these names. Energies are RMSEs in meV/atom, forces in meV/Angstrom (force
components), stresses in GPa (recorded Voigt components; NaN where no configuration has a
recorded stress and virial rows), DFT cost in seconds (recorded wall or CPU times, or a cost
given per level; ``dft_cost_source`` names which, see :mod:`pyiron_appmlip.training.costs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Column",
    "COLUMNS",
    "COLUMN_NAMES",
    "LEVEL_COLUMNS",
    "KEY_COLUMNS",
    "SETTING_COLUMNS",
    "make_row",
    "fit_key",
    "row_key",
    "check_table",
    "check_test_errors",
    "describe_columns",
    "complete_older_columns",
    "level_pair_label",
    "energies_apart",
    "APART_SUFFIX",
    "delta_label",
    "MODEL_KINDS",
]


@dataclass(frozen=True)
class Column:
    """One column of the fit table.

    Attributes:
        name: the column name.
        kind: ``"int"``, ``"float"`` or ``"str"``.
        unit: physical unit ("" for counts, ids and names).
        description: what the value means.
    """

    name: str
    kind: str
    unit: str
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("twojmax", "int", "", "2Jmax of the qSNAP descriptors"),
    Column("n_descriptors", "int", "", "descriptor columns p (the fit has p + 1 coefficients)"),
    Column(
        "sampler",
        "str",
        "",
        "how the training subset was drawn: leverage, block_leverage, "
        "random, or all (the whole training pool)",
    ),
    Column("repetition", "int", "", "index of the independent sampling order"),
    Column("seed", "int", "", "root seed of the sampling orders"),
    Column("subset_size", "int", "", "number of training configurations"),
    Column("energy_weight", "float", "", "energy weight w_E"),
    Column("force_weight", "float", "", "force weight w_F"),
    Column("weight_ratio", "float", "", "w_E / w_F"),
    Column(
        "stress_weight",
        "float",
        "",
        "stress weight w_S, on stress residuals in eV/Angstrom^3 (0: stresses not fitted; "
        "FitSNAP's vweight, on bar, is w_S / 1.6021765e6)",
    ),
    Column(
        "train_level",
        "str",
        "",
        "label of the DFT level the model was trained on; for a multi-fidelity fit 'E<a>+F<b>' "
        "(energies at level a, forces at level b), for a Delta model '<low>+delta(<high>)'",
    ),
    Column(
        "model_kind",
        "str",
        "",
        "'single' (one level), 'level_pair' (energies and forces from two levels) or 'delta' "
        "(a model of the low level plus a correction to the high one)",
    ),
    Column(
        "energy_level", "str", "", "level of the energy labels (the high level of a Delta model)"
    ),
    Column(
        "force_level", "str", "", "level of the force (and stress) labels (a Delta model's low one)"
    ),
    Column(
        "n_energy",
        "int",
        "",
        "configurations with energies at energy_level: the first n_energy of the training subset "
        "(subset_size for a single level; a Delta model's correction set), or, for a level pair "
        "labelled '... apart', the n_energy configurations after it in its sampling order",
    ),
    Column("truth_level", "str", "", "label of the reference level of the *_truth errors"),
    Column("n_test", "int", "", "test configurations with labels at the truth level"),
    Column("rank", "int", "", "numerical rank of the weighted least-squares problem"),
    Column("energy_rmse_train", "float", "meV/atom", "training error against the training level"),
    Column(
        "force_rmse_train", "float", "meV/Angstrom", "training error against the training level"
    ),
    Column("stress_rmse_train", "float", "GPa", "training error against the training level"),
    Column("energy_rmse_test", "float", "meV/atom", "test error against the training level"),
    Column(
        "energy_rmse_test_shifted",
        "float",
        "meV/atom",
        "test error against the training level, mean energy error removed",
    ),
    Column("force_rmse_test", "float", "meV/Angstrom", "test error against the training level"),
    Column("stress_rmse_test", "float", "GPa", "test error against the training level"),
    Column("energy_rmse_test_truth", "float", "meV/atom", "test error against the truth level"),
    Column(
        "energy_rmse_test_truth_shifted",
        "float",
        "meV/atom",
        "test error against the truth level, mean energy error removed",
    ),
    Column("force_rmse_test_truth", "float", "meV/Angstrom", "test error against the truth level"),
    Column("stress_rmse_test_truth", "float", "GPa", "test error against the truth level"),
    Column(
        "dft_seconds",
        "float",
        "s",
        "DFT cost of the training subset: the sum of its configurations' recorded times or given "
        "cost (dft_cost_source says which)",
    ),
    Column(
        "dft_cost_source",
        "str",
        "",
        "where dft_seconds comes from for the training level: 'measured wall time', 'measured "
        "CPU time', 'given: ...' (job.input.level_costs) or 'unknown: ...' (no recorded time, "
        "counted as 0 s)",
    ),
    Column("n_train_atoms", "int", "", "atoms in the training subset"),
    Column(
        "atom_steps_per_second",
        "float",
        "atom-steps/s",
        "measured LAMMPS MD throughput of the model's 2Jmax (NaN if not measured)",
    ),
    Column("descriptors_job", "int", "", "id of the descriptors job (-1 outside pyiron)"),
    Column(
        "labelling_job", "int", "", "id of the labelling job of the training level (-1 if none)"
    ),
    Column(
        "truth_labelling_job", "int", "", "id of the labelling job of the truth level (-1 if none)"
    ),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
#: Columns that hold level labels (:func:`pyiron_appmlip.dft.levels.level_label`).
LEVEL_COLUMNS = ("train_level", "truth_level")
#: The columns that identify one fit of a sweep (with the sweep's inputs).
KEY_COLUMNS = (
    "twojmax",
    "sampler",
    "repetition",
    "subset_size",
    "energy_weight",
    "force_weight",
    "train_level",
    "n_energy",
)
#: The columns that define one choice of settings; repetitions of the same settings differ only
#: in the sampling of the training subset.
SETTING_COLUMNS = (
    "twojmax",
    "train_level",
    "energy_weight",
    "force_weight",
    "sampler",
    "subset_size",
)
#: Model kinds (the ``model_kind`` column).
MODEL_KINDS = ("single", "level_pair", "delta")
_KINDS = {c.name: c.kind for c in COLUMNS}
_CAST = {"int": int, "float": float, "str": str}


def make_row(values: Mapping) -> dict:
    """A table row with exactly the declared columns, each cast to its kind.

    Args:
        values: column name -> value, for exactly the declared columns.

    Returns:
        The row as a dict in the order of :data:`COLUMN_NAMES`.

    Raises:
        ValueError: naming missing or undeclared columns.
    """
    missing = [c for c in COLUMN_NAMES if c not in values]
    extra = [c for c in values if c not in _KINDS]
    if missing or extra:
        raise ValueError(
            f"a fit-table row needs exactly the declared columns; missing {missing}, "
            f"undeclared {extra}"
        )
    return {c: _CAST[_KINDS[c]](values[c]) for c in COLUMN_NAMES}


def check_table(table, needed: Iterable[str], what: str) -> None:
    """Raise a ValueError unless ``table`` is a non-empty DataFrame holding ``needed``.

    A fit table from AppmlipSweep, AppmlipFit or run_sweep has every column of
    :data:`COLUMNS`; callers may also need columns a user added (e.g. a derived cost).

    Args:
        table: the table to check.
        needed: the columns the caller reads.
        what: the caller's name, used in the message.

    Raises:
        ValueError: if ``table`` is not a DataFrame, is empty or lacks a column of ``needed``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame (a fit table), got {type(table)}")
    if len(table) == 0:
        raise ValueError(f"table is empty; {what} needs at least one row (one fit)")
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} needs the column(s) {missing}, which the table does not have; "
            f"its columns are {list(table.columns)}"
        )
    check_test_errors(table, needed, what)


def check_test_errors(table, needed: Iterable[str], what: str) -> None:
    """Raise a ValueError if ``needed`` names test-error columns and the table has no test set.

    A fit made without a test set (``test_fraction = 0``: every configuration trains) has
    ``n_test`` 0 and NaN in every test-error column (``*_test*``). A caller that reads those
    columns then has nothing to work with; the message says why and what to do.

    Args:
        table: a fit table (a pandas DataFrame).
        needed: the columns the caller reads.
        what: the caller's name, used in the message.
    """
    test_columns = [c for c in needed if _is_test_column(c) and c in table.columns]
    if not test_columns or "n_test" not in table.columns or len(table) == 0:
        return
    without = table["n_test"].to_numpy() == 0
    if without.all() and table[test_columns].isna().all().all():
        raise ValueError(
            f"{what} needs test errors ({test_columns}), but no fit of this table has a test "
            "set: no configuration was held out (test_fraction = 0, n_test 0), so the test-error "
            "columns are NaN. Run the fits with test_fraction > 0 (e.g. 0.25), or name "
            "training-error columns (energy_rmse_train, force_rmse_train), which measure the "
            "fit on its own training data"
        )


def _is_test_column(name: str) -> bool:
    return isinstance(name, str) and "_rmse_test" in name


def describe_columns():
    """The schema as a DataFrame (name, kind, unit, description), e.g. for documentation."""
    import pandas as pd

    return pd.DataFrame([c.__dict__ for c in COLUMNS])


def fit_key(
    twojmax, sampler, repetition, subset_size, energy_weight, force_weight, train_level, n_energy
) -> tuple:
    """The identity of one fit within a sweep: the values of :data:`KEY_COLUMNS`, normalised
    (integers, strings, weights rounded to 12 digits) so that a key built before a fit equals
    the key of its stored row (:func:`row_key`)."""
    return (
        int(twojmax),
        str(sampler),
        int(repetition),
        int(subset_size),
        round(float(energy_weight), 12),
        round(float(force_weight), 12),
        str(train_level),
        int(n_energy),
    )


def row_key(row: Mapping) -> tuple:
    """The :func:`fit_key` of a table row (a row without ``n_energy``, stored before
    multi-fidelity fits, has ``n_energy = subset_size``)."""
    size = int(row["subset_size"])
    n_energy = row.get("n_energy", size) if hasattr(row, "get") else row["n_energy"]
    return fit_key(
        row["twojmax"],
        row["sampler"],
        row["repetition"],
        size,
        row["energy_weight"],
        row["force_weight"],
        row["train_level"],
        size if n_energy is None or n_energy != n_energy else n_energy,
    )


#: How the label of a level pair whose energies lie outside its training subset ends.
APART_SUFFIX = " apart"


def level_pair_label(energy_level, force_level, apart: bool = False) -> str:
    """``train_level`` of a multi-fidelity fit: ``"E<energy level>+F<force level>"``, with
    :data:`APART_SUFFIX` when its energies are those of other configurations (the ``n_energy``
    after the training subset in its sampling order)."""
    return f"E{energy_level}+F{force_level}" + (APART_SUFFIX if apart else "")


def energies_apart(train_level) -> bool:
    """Whether a row's energies come from configurations outside its training subset."""
    return str(train_level).endswith(APART_SUFFIX)


def delta_label(low_level, high_level, twojmax: int | None = None) -> str:
    """``train_level`` of a Delta model: ``"<low>+delta(<high>)"``, or
    ``"<low>+delta(<high>, 2J<t>)"`` for a correction on the columns of 2Jmax ``t``."""
    if twojmax is None:
        return f"{low_level}+delta({high_level})"
    return f"{low_level}+delta({high_level}, 2J{int(twojmax)})"


def complete_older_columns(columns: dict, n_rows: int) -> dict:
    """Fill, in place, the multi-fidelity columns of a table stored before they existed: every
    such row is a single-level fit (``model_kind`` "single", ``energy_level`` and
    ``force_level`` its ``train_level``, ``n_energy`` its ``subset_size``).

    Args:
        columns: column name -> values (arrays or lists of ``n_rows``).
        n_rows: the number of rows.

    Returns:
        ``columns``.
    """
    if not n_rows:
        return columns
    import numpy as np

    level = np.asarray(columns["train_level"], dtype=object)
    defaults = {
        "model_kind": np.full(n_rows, "single", dtype=object),
        "energy_level": level,
        "force_level": level,
        "n_energy": np.asarray(columns["subset_size"], dtype=np.int64),
    }
    for name, values in defaults.items():
        if name not in columns:
            columns[name] = values
    return columns
