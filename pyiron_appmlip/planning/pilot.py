"""The pilot of a DFT campaign: a few configurations labelled at several candidate levels and a
small test set at the reference level, chosen from the candidates' descriptors before any DFT.

The pilot's training configurations are the first ``n_train`` of a leverage-sampling order of
the candidates (:func:`pyiron_appmlip.core.sampling_order`): the configurations a leverage
sampler would label first anyway, so the pilot's calculations stay useful in the campaign. Every
candidate level labels the *same* configurations, so the differences between levels (the
paper's Table 3) are measured on them. The test configurations are labelled at the reference
level only and drawn from the other candidates in one of two ways (``test_selection``):

- ``"random"``: uniformly, without replacement; every test configuration counts once.
- ``"leverage"``: ``n_test`` independent draws *with replacement*, candidate i with probability
  ``pi_i = alpha / M' + (1 - alpha) g_i / sum(g)`` (M' candidates left after the training
  configurations, ``g_i`` their block leverage, the hat-matrix diagonal summed over all of a
  configuration's rows, from the descriptors alone, ``alpha`` =
  ``test_mixture``, the share of the uniform draw that bounds every weight by
  ``1 / (n_test alpha / M')``). A candidate drawn k times is labelled once and carries the
  Hansen-Hurwitz weight ``w_i = k / (n_test pi_i)`` (:attr:`PilotDesign.test_weights`; the
  weights sum to about M'). Test RMSEs weighted by them (the self-normalised mean of the
  squared errors) estimate the errors of the whole pool without bias in the sum and with less
  spread than a uniform draw when a few atypical configurations, those of high leverage, carry
  most of the squared error.

Cost: every distinct calculation ``(configuration, level)`` is counted once (a training
configuration labelled at the reference level is not paid for twice), with each level's cost
per configuration from a :class:`~pyiron_appmlip.dft.cost.LevelCost` (seconds per
configuration, per atom, or a cost model fitted to earlier calculations). The total is stated
before anything runs, and a pilot that would take more than a given share of the campaign's
budget is refused with the sizes that would fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.sampling import SAMPLERS, sampling_order
from ..dft.cost import LevelCost
from ..dft.levels import level_label, level_order

__all__ = ["PilotDesign", "design_pilot", "draw_test_set", "TEST_SELECTIONS"]

#: How a pilot's test configurations are drawn (see the module docstring).
TEST_SELECTIONS = ("random", "leverage")

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class PilotDesign:
    """Which calculations a pilot runs, and what they cost.

    Attributes:
        train_ids: the pilot's training configurations, in sampling order (each labelled at
            every level of ``levels``).
        test_ids: the test configurations (labelled at ``reference_level`` only).
        levels: labels of the candidate levels, in level order.
        reference_level: label of the reference (truth) level.
        seconds: ``{(configuration id, level label): estimated seconds}`` of every distinct
            calculation.
        sampler: the sampler of the training order.
        seed: its seed.
        test_selection: how the test configurations were drawn, ``"random"`` or
            ``"leverage"``.
        test_weights: one weight per test configuration (how many candidates it stands
            for), aligned with ``test_ids``; None: every test configuration counts once (a
            uniform draw). Give them to the sweep (``AppmlipSweep.input.test_weights``) so
            that its test RMSEs estimate the pool's.
    """

    train_ids: tuple
    test_ids: tuple
    levels: tuple
    reference_level: str
    seconds: Mapping
    sampler: str = "leverage"
    seed: int = 0
    test_selection: str = "random"
    test_weights: tuple | None = None

    @property
    def calculations(self) -> list[tuple[str, str]]:
        """Every distinct ``(configuration id, level label)`` the pilot runs, training
        calculations level by level, then the test set."""
        return list(self.seconds)

    def ids_at(self, level) -> list[str]:
        """The configurations the pilot labels at ``level`` (a labelling job's structures)."""
        label = level_label(level)
        return [cid for cid, lv in self.seconds if lv == label]

    @property
    def total_seconds(self) -> float:
        """Estimated seconds of all calculations."""
        return float(sum(self.seconds.values()))

    def core_hours(self, cores_per_calculation: int = 1) -> float:
        """Estimated core-hours of all calculations."""
        return self.total_seconds / _SECONDS_PER_HOUR * int(cores_per_calculation)

    def cost_by_level(self) -> dict[str, float]:
        """Estimated seconds per level (training and test calculations together)."""
        out: dict[str, float] = {}
        for (_, lv), s in self.seconds.items():
            out[lv] = out.get(lv, 0.0) + s
        return out

    def summary(self, cores_per_calculation: int = 1) -> str:
        """A readable account of the pilot and its cost."""
        lines = [
            f"Pilot: {len(self.train_ids)} training configurations ({self.sampler} order, seed "
            f"{self.seed}) at levels {', '.join(self.levels)}; {len(self.test_ids)} test "
            f"configurations at the reference level {self.reference_level}"
            + (
                f" (drawn by leverage, weights {min(self.test_weights):.3g}-"
                f"{max(self.test_weights):.3g})"
                if self.test_weights
                else ""
            ),
            f"  {len(self.seconds)} distinct calculations, estimated {self.total_seconds:.4g} s "
            f"= {self.core_hours(cores_per_calculation):.4g} core-hours at "
            f"{int(cores_per_calculation)} core(s) per calculation",
        ]
        for lv, s in sorted(self.cost_by_level().items(), key=lambda kv: level_order(kv[0])):
            lines.append(f"  level {lv}: {len(self.ids_at(lv))} calculations, {s:.4g} s")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _count(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def draw_test_set(
    candidates: Sequence[int],
    n_test: int,
    rng: np.random.Generator,
    scores=None,
    mixture: float = 0.5,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Draw a test set from ``candidates``, uniformly or by leverage (see the module docstring).

    Args:
        candidates: indices the test set is drawn from (M' of them).
        n_test: draws, 1..M' (uniform: distinct configurations).
        rng: the random generator.
        scores: (M',) leverage scores of the candidates (finite, >= 0), aligned with
            ``candidates``; None draws uniformly without replacement.
        mixture: alpha, the share of the uniform draw in the draw probabilities, in (0, 1].

    Returns:
        ``(indices, weights)``: the distinct drawn indices, sorted, and their Hansen-Hurwitz
        weights ``k_i / (n_test pi_i)`` (None for the uniform draw).

    Raises:
        ValueError: naming the parameter, for scores of the wrong shape, negative or not finite,
            or a mixture outside (0, 1].
    """
    cand = np.asarray(candidates, dtype=int)
    m = cand.size
    n_test = _count(n_test, "n_test", 1, m)
    if scores is None:
        return np.sort(rng.choice(cand, size=n_test, replace=False)), None
    g = np.asarray(scores, dtype=float)
    if g.shape != (m,):
        raise ValueError(
            f"test scores (leverage) must have one value per candidate of the test draw ({m},), "
            f"got shape {g.shape}"
        )
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError("test scores (leverage) must be finite numbers >= 0")
    alpha = float(mixture)
    if not np.isfinite(alpha) or not 0.0 < alpha <= 1.0:
        raise ValueError(f"test_mixture must lie in (0, 1], got {mixture!r}")
    total = g.sum()
    pi = np.full(m, 1.0 / m) if total <= 0 else alpha / m + (1.0 - alpha) * g / total
    pi = pi / pi.sum()
    draws = rng.choice(m, size=n_test, replace=True, p=pi)
    picked, counts = np.unique(draws, return_counts=True)
    weights = counts / (n_test * pi[picked])
    order = np.argsort(cand[picked], kind="stable")
    return cand[picked][order], weights[order]


def design_pilot(
    configuration_ids: Sequence,
    levels: Sequence,
    reference_level,
    level_costs: Mapping,
    n_atoms: Sequence[int],
    *,
    n_train: int = 20,
    n_test: int = 5,
    leverage=None,
    block_leverage=None,
    sampler: str = "leverage",
    seed: int = 0,
    test_selection: str = "random",
    test_mixture: float = 0.5,
    budget_core_hours: float | None = None,
    max_budget_fraction: float = 0.1,
    cores_per_calculation: int = 1,
) -> PilotDesign:
    """Choose the pilot's calculations from the candidates' descriptors, before any DFT.

    Args:
        configuration_ids: ids of the M candidate configurations.
        levels: the candidate levels to label the training configurations at (numbers, names
            or :class:`~pyiron_appmlip.dft.levels.ConvergenceLevel`), at least one.
        reference_level: the reference (truth) level of the test set.
        level_costs: ``{level: cost}`` for every level of ``levels`` and the reference level:
            ``{"per_configuration": s}``, ``{"per_atom": s}``, ``{"model": CostModel}`` or a
            :class:`~pyiron_appmlip.dft.cost.LevelCost` (e.g. from
            :func:`~pyiron_appmlip.dft.cost.fit_cost_models` on earlier calculations).
        n_atoms: (M,) atoms per candidate (the cost of a per-atom cost or a cost model).
        n_train: training configurations of the pilot, 1..M - n_test.
        n_test: test configurations at the reference level, 1..M - n_train (with
            ``test_selection="leverage"``: draws, a configuration drawn twice is labelled once).
        leverage: (M,) regular leverage scores (``sampler="leverage"``).
        block_leverage: (M,) block leverage scores (``sampler="block_leverage"``).
        sampler: ``"leverage"``, ``"block_leverage"`` or ``"random"``.
        seed: seed of the training order and of the test draw.
        test_selection: ``"random"`` (default: uniform, every test configuration counts
            once) or ``"leverage"`` (drawn with probability mixing the uniform draw and the
            candidates' ``block_leverage`` scores, each carrying the weight of its draw, see
            the module docstring; needs ``block_leverage``).
        test_mixture: alpha, the uniform share of the leverage draw, in (0, 1].
        budget_core_hours: the campaign's DFT budget; with it, a pilot costing more than
            ``max_budget_fraction`` of it is refused.
        max_budget_fraction: the largest share of ``budget_core_hours`` the pilot may take,
            in (0, 1].
        cores_per_calculation: cores each calculation runs on (for core-hours).

    Returns:
        The :class:`PilotDesign`.

    Raises:
        ValueError: naming the parameter, for sizes out of range, a level without a cost,
            scores of the wrong length, an unknown sampler or test selection, a leverage test
            selection without leverage scores, or a pilot over its share of the budget (the
            message gives the sizes that would fit).
    """
    ids = [str(i) for i in configuration_ids]
    m = len(ids)
    if m < 2:
        raise ValueError(f"configuration_ids must name at least 2 candidates, got {m}")
    if len(set(ids)) != m:
        raise ValueError("configuration_ids must be unique")
    atoms = np.asarray(n_atoms, dtype=float)
    if atoms.shape != (m,) or not np.all(np.isfinite(atoms)) or np.any(atoms < 1):
        raise ValueError(f"n_atoms must hold one atom count >= 1 per candidate ({m},)")
    n_train = _count(n_train, "n_train", 1, m - 1)
    n_test = _count(n_test, "n_test", 1, m - n_train)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    if test_selection not in TEST_SELECTIONS:
        raise ValueError(
            f"test_selection must be one of {list(TEST_SELECTIONS)}, got {test_selection!r}"
        )
    if test_selection == "leverage" and block_leverage is None:
        raise ValueError(
            "test_selection='leverage' needs the candidates' block leverage scores "
            "(block_leverage=)"
        )
    labels = sorted(dict.fromkeys(level_label(lv) for lv in levels), key=level_order)
    if not labels:
        raise ValueError("levels must name at least one candidate level")
    reference = level_label(reference_level)
    costs = {level_label(k): v for k, v in dict(level_costs).items()}
    lacking = [lv for lv in [*labels, reference] if lv not in costs]
    if lacking:
        raise ValueError(
            f"level_costs has no cost for level(s) {sorted(set(lacking), key=level_order)}; "
            f"levels with a cost: {sorted(costs, key=level_order)}"
        )
    per_level = {
        lv: LevelCost.from_spec(costs[lv], f"level_costs[{lv!r}]").predict(atoms)
        for lv in dict.fromkeys([*labels, reference])
    }
    for name, scores in (("leverage", leverage), ("block_leverage", block_leverage)):
        if scores is not None and np.shape(scores) != (m,):
            raise ValueError(f"{name} must have one score per candidate ({m},)")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    order = sampling_order(
        sampler, m, leverage=leverage, block_leverage=block_leverage, seed=int(seed)
    )
    train = order[:n_train]
    rest = np.setdiff1d(np.arange(m), train)
    scores = None if test_selection == "random" else np.asarray(block_leverage, float)[rest]
    test, test_weights = draw_test_set(rest, n_test, rng, scores, test_mixture)
    index = {cid: k for k, cid in enumerate(ids)}
    parts = [([ids[k] for k in train], lv) for lv in labels]
    parts.append(([ids[k] for k in test], reference))
    seconds = {}
    for part_ids, lv in parts:  # training calculations level by level, then the test set
        for cid in part_ids:
            if (cid, lv) not in seconds:
                seconds[(cid, lv)] = float(per_level[lv][index[cid]])
    design = PilotDesign(
        train_ids=tuple(ids[k] for k in train),
        test_ids=tuple(ids[k] for k in test),
        levels=tuple(labels),
        reference_level=reference,
        seconds=seconds,
        sampler=sampler,
        seed=int(seed),
        test_selection=test_selection,
        test_weights=None if test_weights is None else tuple(float(w) for w in test_weights),
    )
    if budget_core_hours is not None:
        budget = float(budget_core_hours)
        if not np.isfinite(budget) or budget <= 0:
            raise ValueError(f"budget_core_hours must be a number > 0, got {budget_core_hours!r}")
        fraction = float(max_budget_fraction)
        if not 0 < fraction <= 1:
            raise ValueError(f"max_budget_fraction must lie in (0, 1], got {max_budget_fraction!r}")
        cost = design.core_hours(cores_per_calculation)
        if cost > fraction * budget:
            per_config = cost / (n_train * len(labels) + n_test)
            fit = int(fraction * budget / per_config)
            raise ValueError(
                f"the pilot needs {cost:.4g} core-hours, more than max_budget_fraction="
                f"{fraction:g} of budget_core_hours={budget:g} ({fraction * budget:.4g}); "
                f"lower n_train (about {max(fit - n_test, 0) // len(labels)} would fit at "
                f"{len(labels)} level(s)), n_test, or the number of levels, or give a larger "
                "budget"
            )
    return design
