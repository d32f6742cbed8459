"""The W-Be groups left out of the studies are found whatever folder the data were read from."""

import pytest

from pyiron_appmlip.reproduction.like_for_like.conventions import wbe_excluded


@pytest.mark.parametrize(
    "group, left_out",
    [
        ("Defect_BSplit", True),
        ("JSON/Defect_BSplit", True),  # read from the folder above FitSNAP's JSON folder
        ("data\\JSON\\Liquids", True),
        ("Liquids/", True),
        ("JSON/Liquids", True),
        ("JSON/001FreeSurf", False),
        ("Defect", False),
        ("MyDefect_BSplit", False),
        ("JSON/LiquidsX", False),
    ],
)
def test_groups_are_matched_by_their_last_path_component(group, left_out):
    assert wbe_excluded(group) is left_out
