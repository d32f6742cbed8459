"""Running a pilot (:mod:`pyiron_appmlip.planning.pilot`) with pyiron: its design from a
descriptors job, one labelling job per level, and the sweep of the pilot's own subsets.

A typical session::

    desc = pr.create.job.AppmlipDescriptors("candidates_desc")   # the candidates, 2Jmax 6
    ...
    design = design_pilot_from_descriptors(desc, levels=[1, 2, 3, 4], reference_level=5,
                                           level_costs={1: {"per_atom": 2.0}, ...},
                                           n_train=20, n_test=5)
    print(design.summary())                      # the cost, before anything runs
    jobs = run_pilot_labelling(pr, design, desc)  # one AppmlipLabelling per level
    sweep = pilot_sweep(pr, design, jobs, desc)   # learning curves of the pilot's subsets
    sweep.run()

Every job is in the project's job table, named after ``prefix`` and the level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.leverage import leverage_scores_streamed
from ..dft.levels import level_label
from ..planning.pilot import PilotDesign, design_pilot

__all__ = ["design_pilot_from_descriptors", "run_pilot_labelling", "pilot_sweep"]


def design_pilot_from_descriptors(
    descriptors_job,
    levels: Sequence,
    reference_level,
    level_costs: Mapping,
    *,
    leverage_weights: tuple[float, float] = (150.0, 1.0),
    **options,
) -> PilotDesign:
    """:func:`~pyiron_appmlip.planning.pilot.design_pilot` for the candidates of a finished
    ``AppmlipDescriptors`` job: their leverage scores (of the ``leverage_weights``-weighted
    matrix) are computed from its blocks, streamed, without any DFT.

    Args:
        descriptors_job: a finished ``AppmlipDescriptors`` job of the candidates.
        levels: candidate levels (see :func:`~pyiron_appmlip.planning.pilot.design_pilot`).
        reference_level: the reference level of the test set.
        level_costs: ``{level: cost}`` (see :func:`~pyiron_appmlip.planning.pilot.design_pilot`).
        leverage_weights: ``(w_E, w_F)`` of the weighted matrix whose leverage orders the
            candidates.
        **options: further keywords of :func:`~pyiron_appmlip.planning.pilot.design_pilot`
            (``n_train``, ``n_test``, ``sampler``, ``seed``, ``budget_core_hours``, ...).
    """
    ids = list(descriptors_job.configuration_ids)
    n_atoms = [len(s) for s in descriptors_job.structures]
    lev, blev = leverage_scores_streamed(
        lambda: descriptors_job.iter_blocks(ids, virial=False), *leverage_weights
    )
    return design_pilot(
        ids,
        levels,
        reference_level,
        level_costs,
        n_atoms,
        leverage=lev,
        block_leverage=blev,
        **options,
    )


def _structures_by_id(structures) -> dict:
    if hasattr(structures, "configuration_ids") and hasattr(structures, "structures"):
        return dict(zip(structures.configuration_ids, structures.structures, strict=True))
    if isinstance(structures, Mapping):
        return {str(k): v for k, v in structures.items()}
    raise ValueError(
        "structures must be a job with configuration_ids and structures (e.g. the descriptors "
        f"job of the candidates) or a mapping {{configuration id: structure}}, got "
        f"{type(structures).__name__}"
    )


def run_pilot_labelling(
    project,
    design: PilotDesign,
    structures,
    *,
    prefix: str = "pilot",
    engine: str | None = None,
    engine_options: Mapping | None = None,
    executor=None,
    run: bool = True,
) -> dict:
    """One ``AppmlipLabelling`` job per level of the pilot (its training configurations at
    every candidate level, the test set at the reference level).

    Args:
        project: the pyiron project.
        design: the :class:`~pyiron_appmlip.planning.pilot.PilotDesign`.
        structures: the candidates: the descriptors (or candidates) job they came from, or a
            mapping ``{configuration id: structure}``.
        prefix: job names are ``f"{prefix}_L{level}"``.
        engine: the DFT engine of the labelling jobs (default: theirs, GPAW).
        engine_options: their engine options.
        executor: their executor (``job.input.executor``).
        run: run the jobs (a job already finished is loaded, not run again).

    Returns:
        ``{level label: job}``.

    Raises:
        ValueError: if a configuration of the design has no structure.
    """
    by_id = _structures_by_id(structures)
    jobs = {}
    for lv in dict.fromkeys([*design.levels, design.reference_level]):
        ids = design.ids_at(lv)
        lacking = [i for i in ids if i not in by_id]
        if lacking:
            raise ValueError(
                f"structures lacks {len(lacking)} configuration(s) of the pilot at level {lv}, "
                f"e.g. {lacking[:3]}: give the job (or mapping) the pilot was designed from"
            )
        name = f"{prefix}_L{level_label(lv)}"
        job = project.load(name) if name in project.list_nodes() else None
        if job is None or job.status.initialized:
            job = job or project.create.job.AppmlipLabelling(name)
            job.structures = [by_id[i] for i in ids]
            job.input.level = int(lv) if str(lv).isdigit() else lv
            if engine is not None:
                job.input.engine = engine
            if engine_options is not None:
                job.input.engine_options = dict(engine_options)
            if executor is not None:
                job.input.executor = executor
            if run:
                job.run()
        jobs[str(lv)] = job
    return jobs


def pilot_sweep(
    project,
    design: PilotDesign,
    labelling_jobs: Mapping,
    descriptors_jobs,
    *,
    name: str = "pilot_sweep",
    subset_sizes: Sequence[int] | None = None,
    weights: Sequence = ((150.0, 1.0), (12.0, 1.0), (1.0, 1.0)),
    samplers: Sequence[str] = ("leverage", "random"),
    repetitions: int = 5,
    level_pairs: Sequence = (),
    energy_sizes: Sequence[int] = (),
):
    """An ``AppmlipSweep`` (not run) of the pilot's learning curves: subsets of its training
    configurations at every candidate level, tested on its reference-level test set (weighted
    by the design's ``test_weights`` when it was drawn by leverage).

    Args:
        project: the pyiron project.
        design: the pilot.
        labelling_jobs: ``{level: job}`` (:func:`run_pilot_labelling`).
        descriptors_jobs: one descriptors job of the candidates, or a list (one per 2Jmax).
        name: the sweep job's name.
        subset_sizes: default: a quarter, a half and all of the pilot's training set.
        weights: ``(w_E, w_F)`` pairs.
        samplers: samplers of the subsets.
        repetitions: sampling orders per sampler.
        level_pairs: ``(energy_level, force_level)`` pairs to fit as well.
        energy_sizes: energy subset sizes of the level pairs (the first n configurations of
            each subset; default: the whole subset).

    Returns:
        The sweep job (call ``run()``).
    """
    job = project.create.job.AppmlipSweep(name)
    descs = descriptors_jobs if isinstance(descriptors_jobs, list | tuple) else [descriptors_jobs]
    for desc in descs:
        job.add_descriptors(desc)
    for lj in labelling_jobs.values():
        job.add_labels(lj)
    n = len(design.train_ids)
    sizes = subset_sizes or sorted({max(1, n // 4), max(1, n // 2), n})
    job.input.train_levels = list(design.levels)
    job.input.truth_level = design.reference_level
    job.input.subset_sizes = [int(s) for s in sizes]
    job.input.weights = [[float(a), float(b)] for a, b in weights]
    job.input.samplers = list(samplers)
    job.input.repetitions = int(repetitions)
    job.input.test_ids = list(design.test_ids)
    if design.test_weights is not None:  # a test set drawn by leverage: weighted test errors
        job.input.test_weights = [float(w) for w in design.test_weights]
    if level_pairs:
        job.input.level_pairs = [[str(a), str(b)] for a, b in level_pairs]
        job.input.energy_sizes = [int(n) for n in energy_sizes]
    return job
