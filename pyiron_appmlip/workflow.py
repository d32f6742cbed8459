"""The pipeline as workflow nodes: candidates, DFT labels, descriptors, leverage, training split,
fit, errors and export.

Every step is a plain function decorated with :func:`flowrep.atomic`, so it can be called
directly, used as a node in a ``pyiron_workflow.Workflow``, or combined by
:func:`flowrep.workflow`. :func:`appmlip_pipeline` chains them from generated candidates to the
``pair_style snap`` files; :func:`train_from_structures` does the same for structures you
already have. Run either with ``pyiron_workflow.run`` or :func:`run_pipeline`::

    from pyiron_appmlip.workflow import run_pipeline
    out = run_pipeline(n_structures=4, level=1, twojmax=4, n_train=3, folder="potential")
    out["test_errors"]["energy_rmse"], out["coeff_file"]

DFT runs in-process with GPAW (:func:`pyiron_appmlip.dft.engines.gpaw.run_gpaw`) and descriptors
with LAMMPS (:func:`pyiron_appmlip.descriptors.compute_qsnap_blocks`); the pipeline is meant for
small cases and for trying settings. Large studies use the pyiron jobs (``AppmlipLabelling``,
``AppmlipDescriptors``, ``AppmlipSweep``), which store, resume and parallelise.

Units: energies in eV, forces in eV/Angstrom; errors in meV/atom and meV/Angstrom.
"""

import flowrep
import numpy as np

__all__ = [
    "generate_candidates",
    "dft_labels",
    "qsnap_descriptors",
    "leverage",
    "train_test_split",
    "fit",
    "errors",
    "export_potential",
    "train_from_structures",
    "appmlip_pipeline",
    "run_pipeline",
    "PIPELINE_OUTPUTS",
]

#: Outputs of :func:`appmlip_pipeline` and :func:`train_from_structures`.
PIPELINE_OUTPUTS = (
    "model",
    "train_errors",
    "test_errors",
    "coeff_file",
    "param_file",
    "results",
    "train",
    "test",
)


def _finished(results) -> np.ndarray:
    return np.array([bool(getattr(r, "ok", False)) for r in results], dtype=bool)


def _labels(results, indices):
    idx = [int(i) for i in indices]
    bad = [i for i in idx if not results[i].ok]
    if bad:
        raise ValueError(
            f"configurations {bad} have no DFT labels (status failed: "
            f"{[results[i].error for i in bad]}); use the indices from train_test_split"
        )
    return [results[i].energy for i in idx], [results[i].forces for i in idx]


@flowrep.atomic("structures")
def generate_candidates(n_structures, element="Be", seed=0, max_atoms=2, strain=0.05, rattle=0.08):
    """Rattled and strained hcp/bcc/fcc cells of 1..``max_atoms`` atoms (ASE Atoms list).

    See :func:`pyiron_appmlip.structures.candidates.rattled_strained_cells`.
    """
    from .structures.candidates import rattled_strained_cells

    return rattled_strained_cells(
        n_structures, element=element, seed=seed, max_atoms=max_atoms, strain=strain, rattle=rattle
    )


@flowrep.atomic("results")
def dft_labels(structures, level=1, maxiter=None, blas_threads=1):
    """One GPAW single point per structure at convergence ``level``, in this process.

    Args:
        structures: ASE or pyiron structures.
        level: paper level number 1..6, ConvergenceLevel or dict.
        maxiter: maximum number of SCF iterations (default: the engine's).
        blas_threads: BLAS/OpenMP threads during each calculation (see
            :func:`~pyiron_appmlip.dft.engines.gpaw.run_gpaw`).

    Returns:
        The list of :class:`~pyiron_appmlip.dft.engines.base.SinglePointResult` (``energy`` eV,
        ``forces`` eV/Angstrom, ``wall_time`` s, ``status``); failed calculations are kept with
        ``status="failed"`` and are left out of the training and test sets.
    """
    from .dft.engines.gpaw import run_gpaw

    return [run_gpaw(s, level, maxiter=maxiter, blas_threads=blas_threads) for s in structures]


@flowrep.atomic
def qsnap_descriptors(structures, twojmax=4, hyperparameters=None):
    """qSNAP descriptor blocks of ``structures`` and the settings they were computed with.

    Args:
        structures: ASE or pyiron structures.
        twojmax: 2Jmax (even positive int).
        hyperparameters: dict of :class:`QSnapSettings` overrides (``rcutfac``, ``elements``,
            ...); the element order is taken from all structures unless ``elements`` is given.

    Returns:
        ``(blocks, settings)``: the blocks (one ``(1 + 3N, p)`` array per structure) and the
        :class:`~pyiron_appmlip.descriptors.QSnapSettings` they were computed with.
    """
    from .descriptors import QSnapSettings, compute_qsnap_blocks

    settings = QSnapSettings.make(int(twojmax), **dict(hyperparameters or {}))
    settings = settings.for_structures(structures)
    blocks = compute_qsnap_blocks(structures, settings)
    return blocks, settings


@flowrep.atomic
def leverage(blocks, energy_weight=1.0, force_weight=1.0):
    """Regular and block leverage score of every configuration (no labels needed).

    The scores are those of the weighted design matrix of a fit with these weights.
    """
    from .core import leverage_scores

    regular, block = leverage_scores(blocks, energy_weight, force_weight)
    return regular, block


@flowrep.atomic
def train_test_split(
    results, scores, n_train, sampler="leverage", seed=0, block_scores=None, test_fraction=None
):
    """Training and test indices among the configurations with finished DFT labels.

    The training set is the first ``n_train`` configurations of the sampling order
    (:func:`pyiron_appmlip.core.sampling_order`: leverage-proportional without replacement for
    ``sampler="leverage"`` with ``scores``, ``"block_leverage"`` with ``block_scores``, or
    ``"random"``); the rest is the test set (or, with ``test_fraction``, that fraction of the
    finished configurations, taken from the end of the order).

    Args:
        results: the DFT results, one per configuration.
        scores: regular leverage scores, one per configuration (or None).
        n_train: size of the training set, in [1, number of finished calculations].
        sampler: ``"leverage"``, ``"block_leverage"`` or ``"random"``.
        seed: seed of the sampling order.
        block_scores: block leverage scores, one per configuration (or None).
        test_fraction: optional fraction of the finished configurations, in (0, 1), used as
            the test set.

    Returns:
        ``(train, test)``, lists of configuration indices.
    """
    from .core import sampling_order

    finished = np.flatnonzero(_finished(results))
    m = finished.size
    if m == 0:
        raise ValueError("no DFT calculation finished; nothing to train on")
    if isinstance(n_train, bool) or not isinstance(n_train, int | np.integer):
        raise ValueError(f"n_train must be an integer in [1, {m}], got {n_train!r}")
    if not 1 <= int(n_train) <= m:
        raise ValueError(
            f"n_train must be an integer in [1, {m}] (the finished calculations), got {n_train!r}"
        )

    regular = None if scores is None else np.asarray(scores, dtype=float)[finished]
    block = None if block_scores is None else np.asarray(block_scores, dtype=float)[finished]
    order = finished[sampling_order(sampler, m, leverage=regular, block_leverage=block, seed=seed)]
    train = [int(i) for i in order[: int(n_train)]]
    rest = order[int(n_train) :]
    if test_fraction is not None:
        if not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1) or None, got {test_fraction!r}")
        rest = rest[len(rest) - min(len(rest), int(round(float(test_fraction) * m))) :]
    test = [int(i) for i in rest]
    return train, test


@flowrep.atomic("model")
def fit(blocks, results, train, energy_weight=1.0, force_weight=1.0, ridge=0.0):
    """Weighted linear fit on the ``train`` configurations.

    Uses :func:`pyiron_appmlip.core.fit_weighted`.

    Returns:
        A :class:`~pyiron_appmlip.core.LinearModel`.
    """
    from .core import fit_weighted

    if len(train) == 0:
        raise ValueError("train must list at least one configuration index")
    energies, forces = _labels(results, train)
    return fit_weighted(
        [blocks[int(i)] for i in train], energies, forces, energy_weight, force_weight, ridge
    )


@flowrep.atomic("errors")
def errors(model, blocks, results, indices):
    """Errors of ``model`` on the configurations ``indices``.

    Returns:
        dict with ``energy_rmse`` and ``energy_rmse_shifted`` (meV/atom), ``force_rmse``
        (meV/Angstrom), ``energy_mean_error``, ``n_configs`` and ``n_force_components``; NaN
        errors for an empty set.
    """
    if len(indices) == 0:
        nan = float("nan")
        return {
            "energy_rmse": nan,
            "energy_rmse_shifted": nan,
            "force_rmse": nan,
            "energy_mean_error": nan,
            "n_configs": 0,
            "n_force_components": 0,
        }
    energies, forces = _labels(results, indices)
    summary = model.errors([blocks[int(i)] for i in indices], energies, forces)
    return summary.as_dict()


@flowrep.atomic
def export_potential(model, settings, folder="appmlip_potential", name="appmlip"):
    """Write ``<name>.snapcoeff`` and ``<name>.snapparam`` (LAMMPS ``pair_style snap``).

    Returns:
        The absolute paths of the two files, written into ``folder``.
    """
    from .potential import write_snap_potential

    coeff_file, param_file = write_snap_potential(
        model, settings.elements, folder, settings=settings, name=name
    )
    return coeff_file, param_file


@flowrep.workflow
def train_from_structures(
    structures,
    level=1,
    twojmax=4,
    n_train=3,
    energy_weight=1.0,
    force_weight=1.0,
    sampler="leverage",
    seed=0,
    folder="appmlip_potential",
):
    """Label, describe, sample, fit, evaluate and export an MLIP for ``structures``.

    Returns:
        ``model`` (LinearModel), ``train_errors`` and ``test_errors`` (dicts, meV/atom and
        meV/Angstrom), ``coeff_file`` and ``param_file`` (paths), ``results`` (DFT results),
        ``train`` and ``test`` (configuration indices).
    """
    results = dft_labels(structures, level=level)
    blocks, settings = qsnap_descriptors(structures, twojmax=twojmax)
    scores, block_scores = leverage(blocks, energy_weight=energy_weight, force_weight=force_weight)
    train, test = train_test_split(
        results, scores, n_train, sampler=sampler, seed=seed, block_scores=block_scores
    )
    model = fit(blocks, results, train, energy_weight=energy_weight, force_weight=force_weight)
    train_errors = errors(model, blocks, results, train)
    test_errors = errors(model, blocks, results, test)
    coeff_file, param_file = export_potential(model, settings, folder=folder)
    return model, train_errors, test_errors, coeff_file, param_file, results, train, test


@flowrep.workflow
def appmlip_pipeline(
    n_structures=4,
    element="Be",
    max_atoms=2,
    level=1,
    twojmax=4,
    n_train=3,
    energy_weight=1.0,
    force_weight=1.0,
    sampler="leverage",
    seed=0,
    folder="appmlip_potential",
):
    """:func:`train_from_structures` on ``n_structures`` generated candidate cells.

    The cells are of ``element`` with up to ``max_atoms`` atoms.

    Returns:
        The outputs of :data:`PIPELINE_OUTPUTS`.
    """
    structures = generate_candidates(n_structures, element=element, seed=seed, max_atoms=max_atoms)
    model, train_errors, test_errors, coeff_file, param_file, results, train, test = (
        train_from_structures(
            structures,
            level=level,
            twojmax=twojmax,
            n_train=n_train,
            energy_weight=energy_weight,
            force_weight=force_weight,
            sampler=sampler,
            seed=seed,
            folder=folder,
        )
    )
    return model, train_errors, test_errors, coeff_file, param_file, results, train, test


def run_pipeline(structures=None, *, multithreaded: bool = False, **inputs) -> dict:
    """Run :func:`appmlip_pipeline` with ``pyiron_workflow`` and return its outputs as a dict.

    With ``structures`` given, :func:`train_from_structures` runs instead.

    Args:
        structures: ASE or pyiron structures (default: generated candidates).
        multithreaded: ``False`` (default) runs the nodes one after the other: the recorded DFT
            wall times are the DFT cost of the training set, and GPAW and LAMMPS running side by
            side would inflate them.
        **inputs: inputs of the workflow.

    Returns:
        The outputs (see :data:`PIPELINE_OUTPUTS`).
    """
    import pyiron_workflow as pwf

    config = pwf.RunConfig(dag_multithreaded=bool(multithreaded))
    if structures is None:
        run = pwf.run(appmlip_pipeline, config, **inputs)
    else:
        run = pwf.run(train_from_structures, config, structures=structures, **inputs)
    return dict(run.outputs)
