"""Input checks of AppmlipActiveLoop, without engines: each bad value is refused with its name."""

import pytest
from ase.build import bulk

from pyiron_appmlip.jobs.active_loop import check_application


def _cell():
    return bulk("Be", "hcp", a=2.29, c=3.58)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"n_steps": 0}, "the application has no steps: application n_steps must be an integer"),
        ({"n_steps": 2.5}, "application n_steps must be an integer >= 1"),
        ({"grade_every": 50}, "application grade_every must be an integer in \\[1, n_steps=20\\]"),
        ({"temperature": -5.0}, "application temperature must be a number > 0 \\(K\\)"),
        ({"timestep": 0}, "application timestep must be a number > 0 \\(fs\\)"),
        ({"pressure": 1.0}, "application has the unknown setting\\(s\\) \\['pressure'\\]"),
        ({"structure": None}, "application has no structure"),
    ],
)
def test_bad_application_settings_name_the_setting(changes, match):
    app = {"structure": object(), "n_steps": 20, "grade_every": 5} | changes
    with pytest.raises(ValueError, match=match):
        check_application(app)


def test_job_input_checks(project):
    loop = project.create.job.AppmlipActiveLoop("loop")
    with pytest.raises(ValueError, match="the application has no steps"):
        loop.set_application(_cell(), n_steps=0)
    loop.set_application(_cell(), temperature=500, n_steps=20, grade_every=5)
    assert loop.input.application["n_steps"] == 20
    with pytest.raises(ValueError, match="plan_job is not set"):
        loop.validate_ready_to_run()
    loop.input.plan_job = 1
    loop.input.budget_core_hours = 1.0
    loop.input.thresholds = {"collect": 5.0, "stop": 2.0}
    with pytest.raises(ValueError, match="thresholds are out of order: 'collect' \\(5\\)"):
        loop.validate_ready_to_run()
    loop.input.thresholds = {"collect": 2.0, "stop": 10.0}
    for name, value, match in [
        ("max_iterations", 0, "max_iterations must be an integer >= 1"),
        ("n_select", 0, "n_select must be an integer >= 1"),
        ("n_test", -1, "n_test must be an integer >= 0"),
        ("test_share", 1.0, "test_share must be a number in \\[0, 1\\)"),
        ("cost_margin", 0.5, "cost_margin must be a number >= 1"),
        ("energy_target", -1.0, "energy_target must be a number > 0 \\(meV/atom\\)"),
        ("budget_core_hours", 0.0, "budget_core_hours must be a number > 0 \\(core-hours\\)"),
        ("budget_core_hours", None, "budget_core_hours is not set"),
    ]:
        good = loop.input[name]
        loop.input[name] = value
        with pytest.raises(ValueError, match=match):
            loop.validate_ready_to_run()
        loop.input[name] = good
