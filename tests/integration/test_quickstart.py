"""The quickstart's public functions reject bad input before any DFT runs."""

import pytest
from ase.build import bulk

from pyiron_appmlip.quickstart import run_quickstart, validate_quickstart_input


@pytest.mark.parametrize("twojmax", [5, -4, 0, [4, 7], 4.0])
def test_bad_twojmax(twojmax):
    with pytest.raises(ValueError, match="twojmax"):
        validate_quickstart_input(twojmax=twojmax)


@pytest.mark.parametrize("weights", [0, -1, [150, 0], [float("nan")], []])
def test_bad_weights(weights):
    with pytest.raises(ValueError, match="weight_ratios"):
        validate_quickstart_input(weight_ratios=weights)


@pytest.mark.parametrize("levels", [[7], [0, 1], ["high"], []])
def test_unknown_level(levels):
    with pytest.raises(ValueError, match="level"):
        validate_quickstart_input(levels=levels)


def test_empty_structures_and_counts(tmp_path):
    with pytest.raises(ValueError, match="structures"):
        validate_quickstart_input(structures=[])
    with pytest.raises(ValueError, match="n_structures"):
        validate_quickstart_input(n_structures=1)


def test_run_quickstart_validates_before_creating_jobs(project):
    be = bulk("Be", "hcp", a=2.27, c=3.58)
    with pytest.raises(ValueError, match="twojmax"):
        run_quickstart(project, structures=[be, be.copy()], twojmax=[3], verbose=False)
    with pytest.raises(ValueError, match="structures"):
        run_quickstart(project, structures=[], verbose=False)
    assert len(project.job_table()) == 0


def test_valid_input_is_normalised():
    levels, resolved, twojmax, weights = validate_quickstart_input(
        levels=(1, 3), twojmax=6, weight_ratios=150
    )
    assert levels == [1, 3] and twojmax == [6] and weights == [150.0]
    assert resolved[0].kspacing is None and resolved[1].encut == 400


def test_an_aborted_job_is_continued_without_recomputing_finished_work(project):
    from ase.build import bulk

    from pyiron_appmlip.quickstart import _get_or_run

    structures = [bulk("Be", "bcc", a=2.55), bulk("Be", "fcc", a=3.2)]

    def configure(job):
        job.structures = structures
        job.input.level = 1
        job.input.progress = False

    messages = []
    job = _get_or_run(project, "AppmlipLabelling", "lab", configure, messages.append)
    assert job.status.finished
    children = dict(zip(job.get_labels()["ids"], job.get_labels()["child_ids"], strict=True))
    job.status.aborted = True  # e.g. a killed process or a failed run left it aborted
    assert project.load("lab").status.aborted
    job = _get_or_run(project, "AppmlipLabelling", "lab", configure, messages.append)
    assert job.status.finished
    assert any("aborted earlier, continued" in m for m in messages)
    again = dict(zip(job.get_labels()["ids"], job.get_labels()["child_ids"], strict=True))
    assert again == children  # the finished calculations were reused, not recomputed


def test_the_default_live_run_has_more_equations_than_coefficients():
    """The default structures, split as the fit job splits them, determine every coefficient."""
    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.quickstart import DEFAULTS
    from pyiron_appmlip.structures.candidates import rattled_strained_cells
    from pyiron_appmlip.structures.conversion import configuration_id
    from pyiron_appmlip.training.labels import split_by_configuration

    structures = rattled_strained_cells(
        DEFAULTS["n_structures"], element="Be", seed=DEFAULTS["seed"]
    )
    ids = [configuration_id(a) for a in structures]
    train, _ = split_by_configuration(
        ids, test_fraction=DEFAULTS["test_fraction"], seed=DEFAULTS["seed"]
    )
    n_atoms = {i: len(a) for i, a in zip(ids, structures, strict=True)}
    equations = sum(1 + 3 * n_atoms[i] for i in train)
    for t in DEFAULTS["twojmax"]:
        p = compute_qsnap_blocks([structures[0]], t)[0].shape[1]
        assert equations >= p + 1, (t, equations, p + 1)
    # the former default 2Jmax 6 would not be determined: the check can fail
    assert equations < compute_qsnap_blocks([structures[0]], 6)[0].shape[1] + 1


def test_the_study_on_the_shipped_dataset_prints_explained_tables_and_a_png(tmp_path):
    import warnings

    from pyiron_appmlip.core.fit import UnderdeterminedFitWarning
    from pyiron_appmlip.quickstart import study_shipped_dataset

    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnderdeterminedFitWarning)
        out = study_shipped_dataset(str(tmp_path), repetitions=3, log=lines.append)
    rows = out["result"].rows
    assert (rows["rank"] == out["result"].info["n_coefficients"]).all()
    numbered = [ln for ln in lines if ln[:3] in {"1. ", "2. ", "3. ", "4. ", "5. "}]
    assert [ln[0] for ln in numbered] == ["1", "2", "3", "4", "5"]
    assert all(len(ln) > 60 for ln in numbered)  # each table says what it shows
    with open(out["figure"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
