import pytest


def test_evaluation_cost_job_measures_throughput(project):
    job = project.create.job.AppmlipEvaluationCost("cost")
    job.input.twojmax = [4, 6]
    job.input.repeat = [2, 2, 2]
    job.input.n_steps = 20
    job.run()
    reloaded = project.load("cost")
    table = reloaded.get_table()
    assert list(table["twojmax"]) == [4, 6]
    assert list(table["n_atoms"]) == [16, 16]
    # 1 + 14 + 105 and 1 + 30 + 465 coefficients (constant, linear, quadratic)
    assert list(table["n_coefficients"]) == [120, 496]
    aps = reloaded.atom_steps_per_second()
    assert aps[4] > aps[6] > 0  # qSNAP at 2Jmax 6 costs about 3x more per step than at 4


def test_evaluation_cost_job_rejects_bad_input(project):
    job = project.create.job.AppmlipEvaluationCost("bad")
    job.input.twojmax = [5]
    with pytest.raises(ValueError, match="twojmax"):
        job.run()


@pytest.mark.parametrize("repeat", [[1, 1], [2, 0, 1], [1.5, 1, 1], 4])
def test_evaluation_cost_job_rejects_a_bad_supercell(project, repeat):
    job = project.create.job.AppmlipEvaluationCost("bad_repeat")
    job.input.repeat = repeat
    with pytest.raises(ValueError, match=r"repeat must be three positive integers .* got"):
        job.run()
