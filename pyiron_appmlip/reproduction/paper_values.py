"""The paper's published numbers, for printing beside a reproduction's own results.

Source: I. Baghishov, J. Janssen, G. Henkelman, D. Perez, "Application-specific machine-learned
interatomic potentials: exploring the trade-off between DFT convergence, MLIP expressivity, and
computational cost", Digital Discovery (2025), DOI 10.1039/d5dd00294j.

Pure data, no text of the paper. Conventions:

* Every group has a ``ref`` naming the table, figure or section its numbers come from (for the
  row lists :data:`TABLE_2` and :data:`TABLE_3`, see :data:`TABLE_2_META` and
  :data:`TABLE_3_META`); :data:`REFERENCES` collects them.
* Numbers are as printed. Floats drop trailing zeros (``143.3`` is printed "143.30"); the tables
  use two decimals except where a comment says otherwise.
* ``None``: the number is not in the text (only in a plot or the SI). No number is read off a
  plot; numbers attributed to a figure come from the sentences discussing it.
* Values under ``note`` are short descriptions written for this module.
* Units: energies meV/atom, forces meV/Angstrom, DFT times in seconds, minutes or hours as the key
  says.

Table 1 (k-point spacing, cut-off and mean run time per configuration of the six levels) is
:data:`pyiron_appmlip.dft.levels.PAPER_LEVELS`; its smearing and functional are in :data:`SETUP`.
"""

from __future__ import annotations

__all__ = [
    "SOURCE",
    "SETUP",
    "TABLE_2",
    "TABLE_2_META",
    "TABLE_3",
    "TABLE_3_META",
    "TABLES_4_5",
    "FIG_4",
    "FIG_5",
    "FIG_6",
    "FIG_7",
    "FIG_8",
    "DISCUSSION",
    "REFERENCES",
]

SOURCE = {
    "title": (
        "Application-specific machine-learned interatomic potentials: exploring the trade-off "
        "between DFT convergence, MLIP expressivity, and computational cost"
    ),
    "authors": ["Ilgar Baghishov", "Jan Janssen", "Graeme Henkelman", "Danny Perez"],
    "journal": "Digital Discovery",
    "year": 2025,
    "doi": "10.1039/d5dd00294j",
    "code_archive": "https://doi.org/10.5281/zenodo.15814503",
    "ref": "title page; section Data availability",
}

# ---------------------------------------------------------------------------------------------
# Setup: dataset, DFT, model, loss, weights, subsets, leverage sampling, shifts (Secs. 2-3)
# ---------------------------------------------------------------------------------------------
SETUP = {
    "ref": "Secs. 2.1-2.3, 3.1-3.5",
    "convergence_levels": [1, 2, 3, 4, 5, 6],  # Table 1
    "dataset": {
        "ref": "Sec. 2.1",
        "element": "Be",
        "n_configurations_total": 20000,
        "mean_atoms_per_configuration": 50,  # given as an average; no exact mean
        "n_train_configurations": 10000,
        "n_test_configurations": 10000,
        "note": (
            "Tungsten configurations of an entropy-maximised set, rescaled to the Be lattice "
            "constant; split half/half into training and test. How the split was drawn is not "
            "stated."
        ),
    },
    "dataset_statistics_level6": {
        "ref": "Fig. 2, Sec. 2.1",
        "energy_per_atom_min_ev": -3.75,
        "energy_per_atom_max_ev": -2.0,
        "force_component_std_ev_per_angstrom": 0.44,
        "force_component_min_ev_per_angstrom": -10.0,
        "force_component_max_ev_per_angstrom": 10.0,
        "force_component_bulk_range_ev_per_angstrom": [-2.0, 2.0],
    },
    "dft": {
        "ref": "Sec. 2.1, Table 1",
        "code": "VASP",
        "method": "PAW",
        "xc": "PBE",
        "smearing": "Methfessel-Paxton, ISMEAR = 1",
        "sigma_ev": 0.2,
        "timing_hardware": "single NVIDIA A100 GPU",
        # stated as roughly 100; Table 1 gives 996.14 / 8.33 = 120
        "level1_to_level6_cost_factor": 100,
    },
    # Sec. 3.1 (Fig. S1 of the SI): spread between structures of the cut-off energy change
    "encut_structure_dependence_mev_per_atom": 5.0,
    "model": {
        "ref": "Sec. 2.2, eqns (1)-(3), Table 2",
        "type": "qSNAP (quadratic SNAP), linear least squares",
        "descriptor_code": "FitSNAP",
        "fitted_quantities": ["energy", "forces"],  # no stresses
        "reference_energy": "free parameter of the fit",
        "two_jmax_values": [4, 6, 8, 10],
        "radial_cutoff_angstrom": None,  # not in the text
    },
    "loss": {
        "ref": "Sec. 2.2, eqns (1) and (3)",
        # Eqn (1), the loss summed over configurations m: [w_E (predicted - reference energy of
        # m) / N_m]^2 plus, over the 3 N_m force components, [w_F (predicted - reference)]^2. So
        # w_E weights the per-atom energy error and w_F each force component; in eqn (3) the
        # diagonal row weight is w_E / N_m on a configuration's energy row and w_F on its 3 N_m
        # force rows. Ratios w_E/w_F refer to these w's (the loss carries their squares).
        "energy_row_weight": "w_E / N_m",
        "force_row_weight": "w_F",
    },
    "weights": {
        "ref": "Sec. 3.2 (Tables 4/5), Fig. 6, Figs. 7/8",
        "tables_4_5_higher_energy_weight": 150.0,
        # Written "12 : 1"; the grid of Figs. 7/8 has 12.25, not 12, so the Table 4/5 model may be
        # the 12.25 one rounded (not stated).
        "tables_4_5_higher_force_weight": 12.0,
        "fig_6": 150.0,
        "figs_7_8_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
        "fig_4_fig_5_grid": None,  # not listed
        "force_components_per_energy": 150,  # about 3 x 50 atoms per configuration
    },
    "subsets": {
        "ref": "Secs. 3.4, 3.5; captions of Figs. 7/8",
        "min_configurations": 100,
        "max_configurations": 10000,
        "sizes": None,  # the individual sizes are not listed
        "repetitions_per_size": None,  # not stated
        "candidate_pool": 10000,  # the training half
    },
    "leverage": {
        "ref": "Sec. 2.3",
        "hat_matrix": "H = X inv(X^T X) X^T = U U^T (thin SVD X = U S V^T); score = diag(H)",
        "regular_score": "diagonal element of H on the configuration's energy row only",
        "block_score": "sum of the diagonal elements of H over the energy row and all 3 N_m force rows",
        "selection": "random draw with probability proportional to the score until the subset size",
        "note": (
            "H is written with the unweighted X. Open: whether the regular score uses H of the "
            "full X or of the energy rows alone, and whether drawing is without replacement "
            "(suggested by drawing until the size is reached)."
        ),
    },
    "shifts": {
        "ref": "Sec. 3.1 (Table 3), Sec. 3.2 (Table 4)",
        "table_3_unshifted": "raw RMSD between level L and level 6 energies",
        "table_3_bulk_shifted": (
            "RMSD after a constant shift to the bulk ground state; the bulk structure and how the "
            "shift is computed are not given"
        ),
        "table_3_mean_shifted": "RMSD after removing the mean difference over the dataset",
        "table_4_shifted": (
            "test RMSE after adding the mean prediction error as a constant energy offset (the "
            "RMSE about the mean error)"
        ),
        "default": "energy RMSEs after Table 3 are unshifted unless said otherwise",
    },
    "dft_cost": {
        "ref": "Figs. 7/8",
        "note": (
            "Colour of Figs. 7/8: total DFT time of the training set; the formula is not spelled "
            "out (presumably n_configurations x the Table 1 time per configuration)."
        ),
    },
}

# ---------------------------------------------------------------------------------------------
# Table 2 (from Wood and Thompson 2018): 2Jmax -> number of descriptors, speed
# ---------------------------------------------------------------------------------------------
TABLE_2 = [
    {"two_jmax": 4, "n_descriptors": 105, "atom_timesteps_per_second": 4e5},
    {"two_jmax": 6, "n_descriptors": 465, "atom_timesteps_per_second": 1e5},
    {"two_jmax": 8, "n_descriptors": 1540, "atom_timesteps_per_second": 4e4},
    {"two_jmax": 10, "n_descriptors": 4186, "atom_timesteps_per_second": 2e4},
]

TABLE_2_META = {"ref": "Table 2 (after Wood and Thompson 2018)"}

# ---------------------------------------------------------------------------------------------
# Table 3: DFT energy / force RMSD of levels 1-5 against level 6
# ---------------------------------------------------------------------------------------------
# Columns: energy (meV/atom) unshifted | bulk shifted | mean shifted; forces (meV/Angstrom).
# Level 4's bulk-shifted 59.34 is as printed (larger than level 3's 20.21). Which configurations
# enter (all 20 000 or one half) is not stated.
TABLE_3 = [
    {
        "level": 1,
        "energy_unshifted_mev_per_atom": 497.05,
        "energy_bulk_shifted_mev_per_atom": 437.96,
        "energy_mean_shifted_mev_per_atom": 221.72,
        "force_mev_per_angstrom": 417.76,
    },
    {
        "level": 2,
        "energy_unshifted_mev_per_atom": 64.31,
        "energy_bulk_shifted_mev_per_atom": 192.14,
        "energy_mean_shifted_mev_per_atom": 47.46,
        "force_mev_per_angstrom": 163.07,
    },
    {
        "level": 3,
        "energy_unshifted_mev_per_atom": 15.34,
        "energy_bulk_shifted_mev_per_atom": 20.21,
        "energy_mean_shifted_mev_per_atom": 15.28,
        "force_mev_per_angstrom": 77.64,
    },
    {
        "level": 4,
        "energy_unshifted_mev_per_atom": 5.59,
        "energy_bulk_shifted_mev_per_atom": 59.34,
        "energy_mean_shifted_mev_per_atom": 5.39,
        "force_mev_per_angstrom": 51.17,
    },
    {
        "level": 5,
        "energy_unshifted_mev_per_atom": 0.54,
        "energy_bulk_shifted_mev_per_atom": 2.42,
        "energy_mean_shifted_mev_per_atom": 0.50,
        "force_mev_per_angstrom": 10.17,
    },
]

TABLE_3_META = {
    "ref": "Table 3, Sec. 3.1",
    "reference_level": 6,
    # the lowest level whose energy difference to level 6 is below this target (meV/atom)
    "energy_target_mev_per_atom": 1.0,
    "level_reaching_energy_target": 5,
    "note": (
        "The bulk shift raises the difference for most levels; level 1 energies lie "
        "systematically above level 6; force differences are centred on zero."
    ),
}

# ---------------------------------------------------------------------------------------------
# Tables 4 and 5: MLIP train/test RMSEs, 2Jmax = 10, 10 000 training configurations
# ---------------------------------------------------------------------------------------------
# Rows: level of the training set. Per weight setting:
#   energy_train:                  training RMSE against the training level (Table 4)
#   energy_test_self:              test half labelled at the training level
#   energy_test_level6_unshifted:  test half labelled at level 6, unshifted
#   energy_test_level6_shifted:    the same after removing the mean prediction error
#   force_train / force_test_self / force_test_level6: the same for forces (Table 5; no shift).
# Table 5's header is garbled in the text extraction; its three columns per weight are read as in
# Table 4 (training, test on own level, test on level 6): for level 6 the last two coincide
# (110.52, 106.6), as they must. Some force-weight values have one decimal (379.2, 116.4, 106.6),
# as printed. Whether force RMSEs are over components is not stated (the loss and Fig. 2b use
# components).
TABLES_4_5 = {
    "ref": "Tables 4 and 5, Sec. 3.2",
    "two_jmax": 10,
    "n_train_configurations": 10000,
    "n_test_configurations": 10000,
    "test_reference_level": 6,
    # training levels whose lowest level-6 energy error is at the higher force weight
    "levels_best_energy_at_higher_force_weight": [1, 2, 3],
    "models": {
        "higher_energy_weight": {
            "w_e_over_w_f": 150.0,
            "rows": [
                {
                    "level": 1,
                    "energy_train_mev_per_atom": 111.74,
                    "energy_test_self_mev_per_atom": 117.91,
                    "energy_test_level6_unshifted_mev_per_atom": 473.42,
                    "energy_test_level6_shifted_mev_per_atom": 164.02,
                    "force_train_mev_per_angstrom": 931.09,
                    "force_test_self_mev_per_angstrom": 944.15,
                    "force_test_level6_mev_per_angstrom": 900.29,
                },
                {
                    "level": 2,
                    "energy_train_mev_per_atom": 30.90,
                    "energy_test_self_mev_per_atom": 33.18,
                    "energy_test_level6_unshifted_mev_per_atom": 53.76,
                    "energy_test_level6_shifted_mev_per_atom": 32.17,
                    "force_train_mev_per_angstrom": 235.72,
                    "force_test_self_mev_per_angstrom": 238.89,
                    "force_test_level6_mev_per_angstrom": 186.67,
                },
                {
                    "level": 3,
                    "energy_train_mev_per_atom": 11.01,
                    "energy_test_self_mev_per_atom": 11.67,
                    "energy_test_level6_unshifted_mev_per_atom": 11.08,
                    "energy_test_level6_shifted_mev_per_atom": 10.99,
                    "force_train_mev_per_angstrom": 143.30,
                    "force_test_self_mev_per_angstrom": 145.03,
                    "force_test_level6_mev_per_angstrom": 124.53,
                },
                {
                    "level": 4,
                    "energy_train_mev_per_atom": 6.20,
                    "energy_test_self_mev_per_atom": 6.58,
                    "energy_test_level6_unshifted_mev_per_atom": 5.80,
                    "energy_test_level6_shifted_mev_per_atom": 5.62,
                    "force_train_mev_per_angstrom": 120.46,
                    "force_test_self_mev_per_angstrom": 121.86,
                    "force_test_level6_mev_per_angstrom": 111.50,
                },
                {
                    "level": 5,
                    "energy_train_mev_per_atom": 4.79,
                    "energy_test_self_mev_per_atom": 5.06,
                    "energy_test_level6_unshifted_mev_per_atom": 5.05,
                    "energy_test_level6_shifted_mev_per_atom": 5.05,
                    "force_train_mev_per_angstrom": 109.41,
                    "force_test_self_mev_per_angstrom": 110.87,
                    "force_test_level6_mev_per_angstrom": 110.51,
                },
                {
                    "level": 6,
                    "energy_train_mev_per_atom": 4.77,
                    "energy_test_self_mev_per_atom": 5.05,
                    "energy_test_level6_unshifted_mev_per_atom": 5.05,
                    "energy_test_level6_shifted_mev_per_atom": 5.05,
                    "force_train_mev_per_angstrom": 109.04,
                    "force_test_self_mev_per_angstrom": 110.52,
                    "force_test_level6_mev_per_angstrom": 110.52,
                },
            ],
        },
        "higher_force_weight": {
            "w_e_over_w_f": 12.0,  # see SETUP["weights"] about 12.25
            "rows": [
                {
                    "level": 1,
                    "energy_train_mev_per_atom": 187.84,
                    "energy_test_self_mev_per_atom": 188.55,
                    "energy_test_level6_unshifted_mev_per_atom": 458.17,
                    "energy_test_level6_shifted_mev_per_atom": 104.85,
                    "force_train_mev_per_angstrom": 375.83,
                    "force_test_self_mev_per_angstrom": 379.2,
                    "force_test_level6_mev_per_angstrom": 242.75,
                },
                {
                    "level": 2,
                    "energy_train_mev_per_atom": 39.26,
                    "energy_test_self_mev_per_atom": 40.06,
                    "energy_test_level6_unshifted_mev_per_atom": 50.21,
                    "energy_test_level6_shifted_mev_per_atom": 25.85,
                    "force_train_mev_per_angstrom": 189.33,
                    "force_test_self_mev_per_angstrom": 190.69,
                    "force_test_level6_mev_per_angstrom": 116.66,
                },
                {
                    "level": 3,
                    "energy_train_mev_per_atom": 15.12,
                    "energy_test_self_mev_per_atom": 15.48,
                    "energy_test_level6_unshifted_mev_per_atom": 9.24,
                    "energy_test_level6_shifted_mev_per_atom": 9.14,
                    "force_train_mev_per_angstrom": 130.66,
                    "force_test_self_mev_per_angstrom": 132.06,
                    "force_test_level6_mev_per_angstrom": 108.57,
                },
                {
                    "level": 4,
                    "energy_train_mev_per_atom": 8.84,
                    "energy_test_self_mev_per_atom": 9.01,
                    "energy_test_level6_unshifted_mev_per_atom": 8.16,
                    "energy_test_level6_shifted_mev_per_atom": 8.04,
                    "force_train_mev_per_angstrom": 116.4,
                    "force_test_self_mev_per_angstrom": 117.67,
                    "force_test_level6_mev_per_angstrom": 106.89,
                },
                {
                    "level": 5,
                    "energy_train_mev_per_atom": 7.70,
                    "energy_test_self_mev_per_atom": 7.84,
                    "energy_test_level6_unshifted_mev_per_atom": 7.85,
                    "energy_test_level6_shifted_mev_per_atom": 7.85,
                    "force_train_mev_per_angstrom": 105.71,
                    "force_test_self_mev_per_angstrom": 106.98,
                    "force_test_level6_mev_per_angstrom": 106.6,
                },
                {
                    "level": 6,
                    "energy_train_mev_per_atom": 7.70,
                    "energy_test_self_mev_per_atom": 7.84,
                    "energy_test_level6_unshifted_mev_per_atom": 7.84,
                    "energy_test_level6_shifted_mev_per_atom": 7.84,
                    "force_train_mev_per_angstrom": 105.32,
                    "force_test_self_mev_per_angstrom": 106.6,
                    "force_test_level6_mev_per_angstrom": 106.6,
                },
            ],
        },
    },
    "note": (
        "Models of the low levels often test better on level 6 than on their own level; at "
        "levels 4 and 5 the model's own limit, not the DFT error, sets the error."
    ),
}

# ---------------------------------------------------------------------------------------------
# Fig. 4: energy vs force test RMSE along the w_E/w_F sweep, 2Jmax = 10, 10 000 configurations
# ---------------------------------------------------------------------------------------------
FIG_4 = {
    "ref": "Fig. 4, Sec. 3.3",
    "two_jmax": 10,
    "n_train_configurations": 10000,
    "levels_shown": [2, 3, 4, 6],
    "levels_hidden_overlapping_level_6": [5],
    "levels_off_scale": [1],
    "panels": {"a": "training errors", "b": "testing errors"},
    "weights": None,  # the swept values are not listed
    # a higher energy weight raises the level-6 energy error of these training levels
    "levels_energy_error_rises_with_energy_weight": [2, 3],
    # at these levels the test energy error rises at high energy weight (overfitting the energies)
    "levels_energy_overfit_at_high_energy_weight": [4, 6],
}

# ---------------------------------------------------------------------------------------------
# Fig. 5: as Fig. 4 (test errors) for 2Jmax = 4, 6, 8, 10
# ---------------------------------------------------------------------------------------------
FIG_5 = {
    "ref": "Fig. 5, Sec. 3.3",
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "n_train_configurations": 10000,
    "weights": None,  # not listed
    # at 2Jmax = 4 models of these levels have about the same level-6 test errors
    "levels_with_similar_level6_errors_at_two_jmax_4": [3, 4, 5],
    "note": (
        "The simpler the model, the less its errors depend on the training level; at 2Jmax = 10 "
        "the dependence is strongest."
    ),
}

# ---------------------------------------------------------------------------------------------
# Fig. 6: learning curves, regular / block leverage vs random sampling
# ---------------------------------------------------------------------------------------------
FIG_6 = {
    "ref": "Fig. 6, Sec. 3.4",
    "two_jmax": 10,
    "training_level": 6,
    "test_level": 6,  # implied (the highest level), not said explicitly
    "w_e_over_w_f": 150.0,
    "panels": {"a": "energies", "b": "forces"},
    "subset_sizes": None,  # not in the text
    "repetitions": None,  # not in the text
    # Full-set errors are not given for Fig. 6. The same setting appears in Tables 4/5 as
    # 5.05 meV/atom and 110.52 meV/Angstrom (test on level 6): a cross-reference only.
    "full_set_energy_rmse_mev_per_atom": None,
    "full_set_force_rmse_mev_per_angstrom": None,
    "energy_tolerance_to_full_set_mev_per_atom": 1.0,
    "n_configurations_to_reach_energy_tolerance_leverage": None,  # "a few hundred", no number
    "energy_cost_reduction_vs_random": 10,
    "force_tolerance_to_limit_mev_per_angstrom": 10.0,
    "force_configuration_reduction_vs_random": [3, 4],
    "better_for_energy": "regular",
    "better_for_force": "block",
    # the leverage scores cost about one linear fit on the whole dataset of this size
    "leverage_cost_dataset_size": 20000,
}

# ---------------------------------------------------------------------------------------------
# Fig. 7: Pareto-optimal MLIPs, energy vs force test RMSE (level 6 test set), colour = DFT cost
# ---------------------------------------------------------------------------------------------
# Full factorial design: levels 1-6 x leverage subsets (100-10 000) x weights x 2Jmax; the front is
# taken over DFT cost, energy RMSE and force RMSE. The text names the levels absent from or rare
# on the front, not the levels per panel.
FIG_7 = {
    "ref": "Fig. 7, Sec. 3.5",
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "w_e_over_w_f_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
    "subset_size_range": [100, 10000],
    "test_level": 6,
    "sampling": "leverage",  # regular or block is not said
    "levels_on_front": [3, 4, 5, 6],  # 6 only at the edge of the error range
    "levels_absent_from_front": [1, 2],
    "levels_mostly_absent_from_front": [6],
    "levels_on_front_per_panel": None,  # only in the figure
}

# ---------------------------------------------------------------------------------------------
# Fig. 8 (with Fig. 7 and SI Fig. S8): force RMSE vs DFT time, colour = energy RMSE (Sec. 3.5)
# ---------------------------------------------------------------------------------------------
FIG_8 = {
    "ref": "Fig. 8, Sec. 3.5",
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "w_e_over_w_f_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
    "subset_size_range": [100, 10000],
    "test_level": 6,
    "two_jmax_10": {
        "ref": "Fig. 8d, Sec. 3.5",
        "saturation_energy_rmse_mev_per_atom": 4.5,
        "saturation_force_rmse_mev_per_angstrom": 105.0,
        "level_reaching_force_limit": 4,
        "level_needed_for_energy_limit": 5,
        "level4_gap_to_saturation_energy_mev_per_atom": 1.5,
        "level4_gap_to_saturation_force_mev_per_angstrom": 5.0,
        "cheap_model_gap_energy_mev_per_atom": 3.0,
        "cheap_model_gap_force_mev_per_angstrom": 20.0,
        "cheap_model_dft_hours": 2.0,
        "cheap_model_level": 4,
        # best training level by total DFT budget (minutes); the last bin has no upper bound and
        # level 6 is rare in it
        "optimal_level_by_budget_minutes": [
            {"budget_min": 10, "budget_max": 20, "levels": [3]},
            {"budget_min": 20, "budget_max": 1000, "levels": [4]},
            {"budget_min": 3000, "budget_max": None, "levels": [5, 6]},
        ],
    },
    "two_jmax_4": {
        "ref": "Fig. 8a, Sec. 3.5",
        "intermediate_energy_rmse_range_mev_per_atom": [30.0, 40.0],
        "intermediate_force_rmse_range_mev_per_angstrom": [260.0, 300.0],
        "dft_minutes_from": 1e2,
        "dft_minutes_to": 1e3,
        "energy_rmse_decrease_mev_per_atom": 7.0,
        "force_rmse_decrease_mev_per_angstrom": 20.0,
    },
    "note": (
        "At 2Jmax = 10 one weight setting approaches both limits; at 2Jmax 4 and 6 energy and "
        "force errors trade off against each other. Errors drop fast in the first hour of DFT "
        "time and slowly after."
    ),
}

# ---------------------------------------------------------------------------------------------
# Secs. 4 and 5: cost savings
# ---------------------------------------------------------------------------------------------
# Sec. 4 cites "Fig. 7d" for its 2Jmax = 4 statement, while panel (d) of Fig. 7 is 2Jmax = 10 and
# (a) is 2Jmax = 4; recorded as printed.
DISCUSSION = {
    "ref": "Secs. 4 and 5",
    "level5_vs_level6_cost_reduction": 10,
    "level4_vs_full_level5_cost_reduction_two_jmax_ge_6": 10,
    "level4_vs_level6_cost_reduction_two_jmax_ge_6": 100,
    "level3_vs_level5_cost_reduction_two_jmax_4": 50,
    "level3_vs_level6_cost_reduction_two_jmax_4": 500,  # a lower bound
    "near_saturation_dft_hours": 2.0,
}

REFERENCES = {
    "SOURCE": SOURCE["ref"],
    "SETUP": SETUP["ref"],
    "TABLE_2": TABLE_2_META["ref"],
    "TABLE_3": TABLE_3_META["ref"],
    "TABLES_4_5": TABLES_4_5["ref"],
    "FIG_4": FIG_4["ref"],
    "FIG_5": FIG_5["ref"],
    "FIG_6": FIG_6["ref"],
    "FIG_7": FIG_7["ref"],
    "FIG_8": FIG_8["ref"],
    "DISCUSSION": DISCUSSION["ref"],
}
"""Where each group's numbers are in the paper."""
