"""AppmlipCandidates job: output equals the direct generator calls, seeded, stored and reloaded,
table, rescaling, hand-over to AppmlipLabelling, and bad input rejected before anything runs."""

import json

import numpy as np
import pytest

from pyiron_appmlip.jobs._common import plain
from pyiron_appmlip.jobs.candidates import GENERATORS, allowed_options
from pyiron_appmlip.structures import candidates
from pyiron_appmlip.structures.candidates import (
    diverse_candidates,
    minimum_distance,
    random_packings,
    rattled_strained_cells,
    rescale_structures,
    slab_cells,
    vacancy_cells,
)
from pyiron_appmlip.structures.conversion import configuration_ids


def make_job(project, name, generator="diverse", n=10, seed=0, options=None, element="Be"):
    job = project.create.job.AppmlipCandidates(name)
    job.input.generator = generator
    job.input.n_structures = n
    job.input.seed = seed
    job.input.element = element
    job.input.options = options or {}
    return job


def as_json(info):
    return json.loads(json.dumps(plain(info)))


def assert_same_structures(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.get_chemical_symbols() == w.get_chemical_symbols()
        np.testing.assert_array_equal(g.positions, w.positions)
        np.testing.assert_array_equal(np.asarray(g.cell), np.asarray(w.cell))
        np.testing.assert_array_equal(g.pbc, w.pbc)


def test_generator_names_match_the_module():
    assert set(GENERATORS) == {"diverse", "rattled_strained", "vacancy", "slab", "random"}
    for function in GENERATORS.values():
        assert function in candidates.__all__
    assert "fractions" in allowed_options("diverse")
    assert "n_structures" not in allowed_options("random")


def test_diverse_equals_direct_call_and_reloads(project):
    # fractions in a non-alphabetical order: the order decides the seeds of the sub-generators
    fractions = {"slab": 0.3, "crystal": 0.4, "random": 0.3}
    # numpy integers make pyiron store the input as HDF5 groups, which sort dict keys on reading
    options = {"fractions": fractions, "max_atoms": np.int64(8)}
    job = make_job(project, "diverse", n=9, seed=np.int64(7), options=options)
    job.run()
    assert job.status.finished
    want = diverse_candidates(9, element="Be", seed=7, fractions=fractions, max_atoms=8)
    assert_same_structures(job.structures, want)
    assert [a.info["generator"] for a in job.structures] == [a.info["generator"] for a in want]
    assert job.configuration_ids == configuration_ids(want)

    from pyiron_appmlip import Project

    reloaded = Project(project.path).load("diverse")
    assert list(reloaded.input.options["fractions"]) == list(fractions)  # key order kept
    assert_same_structures(reloaded.structures, want)
    assert reloaded.configuration_ids == configuration_ids(want)
    # atoms.info round trip (arrays, e.g. ASE's slab adsorbate_info, come back as lists)
    assert [a.info for a in reloaded.structures] == [as_json(a.info) for a in want]
    # the reloaded input generates the same structures again (no sorted-dict reseeding)
    assert_same_structures(reloaded.generate(), want)

    table = reloaded.get_table()
    assert list(table.columns) == ["id", "n_atoms", "generator", "min_distance", "volume_per_atom"]
    assert list(table["id"]) == configuration_ids(want)
    assert list(table["n_atoms"]) == [len(a) for a in want]
    assert list(table["generator"]) == [a.info["generator"] for a in want]
    np.testing.assert_allclose(table["min_distance"], [minimum_distance(a) for a in want], 0, 1e-12)
    np.testing.assert_allclose(
        table["volume_per_atom"], [a.get_volume() / len(a) for a in want], 0, 1e-12
    )
    assert set(table["generator"]) <= {"crystal", "random", "slab"}


@pytest.mark.parametrize(
    "generator, function, options",
    [
        ("rattled_strained", rattled_strained_cells, {"max_atoms": 4, "rattle": 0.05}),
        ("vacancy", vacancy_cells, {"max_atoms": 8}),
        ("slab", slab_cells, {"vacuum": 7.0}),
        ("random", random_packings, {"n_atoms": (2, 6)}),
    ],
)
def test_each_generator_equals_direct_call(project, generator, function, options):
    job = make_job(project, f"gen_{generator}", generator=generator, n=4, seed=3, options=options)
    job.run()
    want = function(4, element="Be", seed=3, **options)
    assert_same_structures(job.structures, want)
    assert job.configuration_ids == configuration_ids(want)
    # structures without info["generator"] are tagged with the job's generator
    expected = [a.info.get("generator", generator) for a in want]
    assert list(job.get_table()["generator"]) == expected


def test_same_input_same_structures_other_seed_differs(project):
    a = make_job(project, "a", generator="rattled_strained", n=5, seed=11)
    b = make_job(project, "b", generator="rattled_strained", n=5, seed=11)
    c = make_job(project, "c", generator="rattled_strained", n=5, seed=12)
    for job in (a, b, c):
        job.run()
    assert_same_structures(a.structures, b.structures)
    assert a.configuration_ids == b.configuration_ids
    assert a.configuration_ids != c.configuration_ids


def test_element_and_rescaling(project):
    job = make_job(project, "w", generator="rattled_strained", n=3, seed=1, element="W")
    job.input.options = {"max_atoms": 2, "min_distance": 1.0}
    job.input.rescale_from = 2.265
    job.input.rescale_to = 3.16
    job.run()
    direct = rattled_strained_cells(3, element="W", seed=1, max_atoms=2, min_distance=1.0)
    want = rescale_structures(direct, 2.265, 3.16)
    assert_same_structures(job.structures, want)
    assert all(set(a.get_chemical_symbols()) == {"W"} for a in job.structures)
    ratio = job.get_table()["volume_per_atom"] / [a.get_volume() / len(a) for a in direct]
    np.testing.assert_allclose(ratio, (3.16 / 2.265) ** 3, rtol=1e-12)
    # metadata survives the rescaling
    assert [a.info["prototype"] for a in job.structures] == [a.info["prototype"] for a in direct]
    assert all(json.loads(s) == a.info for s, a in zip(job.output.info, direct, strict=True))


def test_structures_assign_to_labelling(project):
    cand = make_job(project, "for_labels", n=6, seed=2, options={"max_atoms": 8})
    cand.run()
    lab = project.create.job.AppmlipLabelling("labels")
    lab.structures = cand.structures
    assert lab.job_id is None  # nothing ran
    assert_same_structures(lab.structures, cand.structures)
    np.testing.assert_array_equal(
        [i.decode() for i in lab.input.structures["ids"]], cand.configuration_ids
    )


def test_no_output_before_run(project):
    job = make_job(project, "empty")
    assert job.structures == [] and job.configuration_ids == []
    with pytest.raises(ValueError, match="run it first"):
        job.get_table()


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("generator", "crystal", r"generator must be one of \['diverse', 'rattled_strained'"),
        ("n_structures", 0, "n_structures must be a positive integer"),
        ("n_structures", 2.5, "n_structures must be a positive integer"),
        ("seed", -1, "seed must be a non-negative integer"),
        ("element", "", "element must be a chemical symbol"),
        ("element", "Xx", r"element must be a chemical symbol such as 'Be' or 'W', got 'Xx'"),
        ("element", "X", "element must be a chemical symbol"),
        ("options", [1, 2], "options must be a dict"),
        ("rescale_from", 2.0, "rescale_from and rescale_to must be set together"),
        ("rescale_to", 3.0, "rescale_from and rescale_to must be set together"),
    ],
)
def test_bad_input_rejected_before_run(project, field, value, match):
    job = make_job(project, f"bad_{field}")
    job.input[field] = value
    with pytest.raises(ValueError, match=match):
        job.run()
    assert job.job_id is None  # never saved, nothing ran
    assert len(project.job_table()) == 0


def test_bad_rescale_values(project):
    job = make_job(project, "bad_rescale")
    job.input.rescale_from = 2.0
    job.input.rescale_to = -3.0
    with pytest.raises(ValueError, match="positive lattice constants"):
        job.run()
    assert job.job_id is None


def test_unknown_options_named_with_allowed_ones(project):
    job = make_job(project, "bad_opts", generator="slab", options={"vacum": 5.0, "max_atoms": 4})
    with pytest.raises(ValueError) as info:
        job.run()
    message = str(info.value)
    assert "['vacum', 'max_atoms']" in message
    assert "allowed: ['vacuum', 'rattle', 'min_distance', 'lattice']" in message
    assert job.job_id is None
    # n_structures/element/seed are the job's own input, not options
    job = make_job(project, "bad_opts_seed", generator="slab", options={"seed": 3})
    with pytest.raises(ValueError, match="unknown keys \\['seed'\\]"):
        job.run()
