"""MD throughput of exported potentials."""

import numpy as np
import pytest

from pyiron_appmlip.descriptors import QSnapSettings
from pyiron_appmlip.potential.evaluation_cost import hcp_be, measure_evaluation_cost


def test_throughput_is_measured_and_falls_with_twojmax():
    r4 = measure_evaluation_cost(twojmax=4, repeat=(2, 2, 2), n_steps=20, warmup_steps=2)
    r6 = measure_evaluation_cost(twojmax=6, repeat=(2, 2, 2), n_steps=20, warmup_steps=2)
    assert r4["n_atoms"] == 16 and r4["n_steps"] == 20 and r4["n_coefficients"] == 120
    assert r4["atom_steps_per_second"] == pytest.approx(16 * 20 / r4["seconds"])
    assert r4["atom_steps_per_second"] > r6["atom_steps_per_second"] > 0


def test_with_a_model_and_nvt():
    settings = QSnapSettings(4, elements=("Be",))
    coef = np.r_[-3.7, 1e-6 * np.random.default_rng(0).standard_normal(119)]
    r = measure_evaluation_cost(
        coef, settings, structure=hcp_be((2, 2, 2), rattle=0.02), n_steps=10, ensemble="nvt"
    )
    assert r["twojmax"] == 4 and r["ensemble"] == "nvt" and r["atom_steps_per_second"] > 0


def test_errors():
    with pytest.raises(ValueError, match="twojmax"):
        measure_evaluation_cost()
    with pytest.raises(ValueError, match="ensemble"):
        measure_evaluation_cost(twojmax=4, ensemble="npt")
    with pytest.raises(ValueError, match="do not match"):
        measure_evaluation_cost(np.zeros(10), QSnapSettings(4), n_steps=1)
