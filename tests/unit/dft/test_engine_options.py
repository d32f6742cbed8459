"""Engine options are checked against the engine before anything runs."""

import pytest

from pyiron_appmlip.dft.engines import allowed_engine_options, check_engine_options


def test_gpaw_options_are_the_classic_calculator_keywords():
    from gpaw.calculator import GPAW

    allowed = allowed_engine_options("gpaw")
    assert set(GPAW.default_parameters) <= set(allowed)
    assert {"parallel", "blas_threads", "maxiter", "symmetry", "convergence"} <= set(allowed)
    assert "txt" not in allowed  # the job writes the GPAW log itself
    assert allowed == sorted(allowed)


def test_vasp_options_are_the_keywords_of_run_vasp():
    assert allowed_engine_options("vasp") == ["cores", "ediff", "executable_version", "maxiter"]


def test_unknown_options_are_refused_naming_the_key_and_the_allowed_ones():
    with pytest.raises(
        ValueError,
        match=r"engine_options: unknown gpaw option 'maxiterr'; allowed: \[.*'maxiter',.*\]",
    ):
        check_engine_options("gpaw", {"maxiter": 5, "maxiterr": 100})
    with pytest.raises(
        ValueError,
        match=r"engine_options_by_id\['abc'\]: unknown vasp options \['ENCUT', 'NELM'\]; "
        r"allowed: \['cores', 'ediff', 'executable_version', 'maxiter'\]",
    ):
        check_engine_options("vasp", {"NELM": 5, "ENCUT": 300}, name="engine_options_by_id['abc']")
    with pytest.raises(ValueError, match="unknown gpaw option 'txt'"):
        check_engine_options("gpaw", {"txt": "-"})


def test_valid_options_pass_and_values_are_checked():
    options = {"maxiter": 50, "symmetry": {"point_group": False}, "blas_threads": 2}
    assert check_engine_options("gpaw", options) == options
    assert check_engine_options("vasp", {"cores": 4, "ediff": 1e-5}) == {"cores": 4, "ediff": 1e-5}
    assert check_engine_options("gpaw", None) == {}
    with pytest.raises(ValueError, match=r"engine_options\['maxiter'\] must be a positive integer"):
        check_engine_options("gpaw", {"maxiter": 0})
    with pytest.raises(ValueError, match=r"engine_options\['cores'\] must be a positive integer"):
        check_engine_options("vasp", {"cores": "four"})
    with pytest.raises(ValueError, match="engine_options must be a dict"):
        check_engine_options("gpaw", ["maxiter"])
    with pytest.raises(ValueError, match=r"engine must be one of \['gpaw', 'vasp'\]"):
        check_engine_options("abinit", {})
