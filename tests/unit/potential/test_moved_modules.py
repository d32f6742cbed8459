"""The fitted model, the reference potential, the export and the evaluation cost moved to
``pyiron_appmlip.potential``; the old import paths still give the same objects, with a
DeprecationWarning that names the new place."""

import importlib
import warnings

import pytest

import pyiron_appmlip
from pyiron_appmlip import potential
from pyiron_appmlip.potential import evaluation_cost, export, model, reference

MOVED = [
    ("pyiron_appmlip.training.model", model, "SnapModel"),
    ("pyiron_appmlip.training.reference", reference, "ReferencePotential"),
    ("pyiron_appmlip.descriptors.export", export, "write_snap_potential"),
    ("pyiron_appmlip.descriptors.export", export, "pair_commands"),
    ("pyiron_appmlip.descriptors.evaluation_cost", evaluation_cost, "measure_evaluation_cost"),
    ("pyiron_appmlip.descriptors.evaluation_cost", evaluation_cost, "hcp_be"),
    ("pyiron_appmlip.descriptors", potential, "write_snap_potential"),
    ("pyiron_appmlip.descriptors", potential, "snap_potential_dataframe"),
    ("pyiron_appmlip.descriptors", potential, "snap_element_coefficients"),
    ("pyiron_appmlip.descriptors", potential, "measure_evaluation_cost"),
]


@pytest.mark.parametrize("old, new_module, name", MOVED)
def test_old_path_gives_the_same_object_and_names_the_new_place(old, new_module, name):
    old_module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning) as record:
        value = getattr(old_module, name)
    assert value is getattr(new_module, name)
    message = str(record[0].message)
    assert f"{old}.{name}" in message and f"{new_module.__name__}.{name}" in message


def test_from_import_of_an_old_path_works():
    with pytest.warns(DeprecationWarning, match="pyiron_appmlip.potential.model.SnapModel"):
        from pyiron_appmlip.training.model import SnapModel
    assert SnapModel is model.SnapModel


def test_unknown_names_of_old_paths_raise_attribute_error():
    import pyiron_appmlip.descriptors as descriptors
    import pyiron_appmlip.descriptors.export as old_export

    with pytest.raises(AttributeError, match="no_such_name"):
        descriptors.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_name"):
        old_export.no_such_name  # noqa: B018


def test_package_names_come_from_the_new_place_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert pyiron_appmlip.SnapModel is model.SnapModel
        assert pyiron_appmlip.write_snap_potential is export.write_snap_potential
        assert pyiron_appmlip.snap_potential_dataframe is export.snap_potential_dataframe
        from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks  # noqa: F401


def test_labels_are_one_class_at_both_paths():
    from pyiron_appmlip.datasets.labels import Labels, split_by_configuration
    from pyiron_appmlip.training import labels as training_labels

    assert training_labels.Labels is Labels
    assert training_labels.split_by_configuration is split_by_configuration
