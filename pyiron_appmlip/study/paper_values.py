"""Numbers and statements reported in the paper, for printing beside a reproduction's own results.

Source: I. Baghishov, J. Janssen, G. Henkelman, D. Perez, "Application-specific machine-learned
interatomic potentials: exploring the trade-off between DFT convergence, MLIP expressivity, and
computational cost", Digital Discovery (2025), DOI 10.1039/d5dd00294j.

Pure data. Conventions:

* Numbers are copied from the paper's text and tables. Floats do not keep trailing zeros, so
  ``143.3`` is printed as "143.30" in the paper; the paper's tables use two decimals except where
  noted.
* Every value under a key named ``quote`` or ``quotes`` is a verbatim excerpt of the paper (text
  extraction, including its LaTeX/markdown fragments such as ``$2J_{\\max}$`` and ``*versus*``).
  Values under ``note`` are paraphrases written for this module, not quotations.
* ``None`` means the value is not given in the text (e.g. only readable from a figure, or only in
  the SI); the comment next to it says so. No number here is read off a plot.
* Units: energies in meV/atom, forces in meV/Angstrom, DFT times in seconds (Table 1) or minutes /
  hours where the paper says so.

Table 1 (levels: k-point spacing, cut-off, average run time per configuration) is not repeated here:
it has nothing beyond ``kspacing``, ``encut`` and ``paper_seconds``, which
:data:`pyiron_appmlip.dft.levels.PAPER_LEVELS` already holds (the smearing, MP order 1 with
SIGMA = 0.2 eV, PBE and PAW are stated in the text of Sec. 2.1, see :data:`SETUP`).
"""

from __future__ import annotations

__all__ = [
    "SOURCE",
    "SETUP",
    "TABLE_2",
    "TABLE_3",
    "TABLE_3_META",
    "TABLES_4_5",
    "FIG_4",
    "FIG_5",
    "FIG_6",
    "FIG_7",
    "FIG_8",
    "DISCUSSION",
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
    "code_archive": "https://doi.org/10.5281/zenodo.15814503",  # section "Data availability"
}

# ---------------------------------------------------------------------------------------------
# Setup: dataset, split, loss, weights, complexities, sub-sampling, shifts (Secs. 2.1-2.3, 3.x)
# ---------------------------------------------------------------------------------------------
SETUP = {
    # Sec. 2.1
    "dataset": {
        "element": "Be",
        "n_configurations_total": 20000,
        "mean_atoms_per_configuration": 50,  # "on average 50 atoms"; the exact mean is not given
        "n_train_configurations": 10000,
        "n_test_configurations": 10000,
        "quotes": [
            "We rely on a subset of 20 000 configurations selected from the dataset introduced in "
            "ref. 32, which was uniformly rescaled from the equilibrium lattice constant of "
            "tungsten to the equilibrium lattice constant of beryllium.",
            "Each configuration contains on average 50 atoms.",
            "When training MLIPs, the dataset is split evenly into a training and a testing set of "
            "10 000 configurations each.",
        ],
        "note": (
            "How the 20 000 configurations were split (random or otherwise, seed) is not stated "
            "in the text."
        ),
    },
    # Sec. 2.1, Fig. 2 text (level 6 data)
    "dataset_statistics_level6": {
        "energy_per_atom_min_ev": -3.75,
        "energy_per_atom_max_ev": -2.0,
        "force_component_std_ev_per_angstrom": 0.44,
        "force_component_min_ev_per_angstrom": -10.0,
        "force_component_max_ev_per_angstrom": 10.0,
        "force_component_bulk_range_ev_per_angstrom": [-2.0, 2.0],
        "quotes": [
            "The per-atom energy distribution (Fig. 2a) spans from −3.75 to −2 eV per atom.",
            "The force component distribution (Fig. 2b) shows a standard deviation of 0.44 eV "
            "Å^{−1} and ranges from −10 to 10 eV Å^{−1}, with most values concentrated between "
            "−2 and 2 eV Å^{−1}.",
        ],
    },
    # Sec. 2.1
    "dft": {
        "code": "VASP",
        "method": "PAW",
        "xc": "PBE",
        "smearing": "Methfessel-Paxton, ISMEAR = 1",
        "sigma_ev": 0.2,
        "timing_hardware": "single NVIDIA A100 GPU",
        "level1_to_level6_cost_factor": 100,  # "around 100"; Table 1 gives 996.14 / 8.33 = 120
        "quotes": [
            "The calculations employed the projector augmented-wave (PAW) method in conjunction "
            "with the Perdew–Burke–Ernzerhof (PBE) exchange–correlation functional.",
            "To model electronic smearing, we utilized the Methfessel–Paxton scheme (ISMear = 1) "
            "with a smearing parameter of SIGMA = 0.2 eV.",
            "the computational effort required to generate the reference data is seen to vary by "
            "a factor of around 100 between low (level 1) and high (level 6) convergence "
            "simulations.",
        ],
    },
    # Sec. 3.1 (Fig. S1 of the SI)
    "encut_structure_dependence_mev_per_atom": 5.0,  # "up to 5 meV per atom between structures"
    "encut_structure_dependence_quote": (
        "the change in energy from increasing ENCUT varies by up to 5 meV per atom between "
        "structures."
    ),
    # Sec. 2.2, eqns (1)-(3)
    "model": {
        "type": "qSNAP (quadratic SNAP), linear least squares",
        "descriptor_code": "FitSNAP",
        "fitted_quantities": ["energy", "forces"],  # no stresses
        "reference_energy": "free parameter of the fit",
        "two_jmax_values": [4, 6, 8, 10],
        "radial_cutoff_angstrom": None,  # not given in the text
        "quotes": [
            "qSNAP descriptors were obtained using FitSNAP software.",
            "In the following, for simplicity we consider only regression to reference energies "
            "and forces, although other quantities such as stresses can be added.",
            "The atomic reference energy for beryllium is not fixed beforehand but is treated as a "
            "free parameter determined implicitly as part of the linear least-squares fitting "
            "process.",
        ],
    },
    # Sec. 2.2, eqn (1) and eqn (3)
    "loss": {
        # Eqn (1): L = sum_m { w_E^2 (E^_m - E_m)^2 / N_m^2 + sum_{i=1}^{3 N_m} w_F^2 (F^_mi - F_mi)^2 }
        # i.e. the per-atom energy error is weighted by w_E and each force component by w_F. Eqn (3):
        # the diagonal row weight is w_E / N_m on the (total-)energy row of configuration m and w_F
        # on each of its 3 N_m force rows. The quoted ratios w_E/w_F refer to these w's (the loss
        # itself carries their squares).
        "energy_row_weight": "w_E / N_m",
        "force_row_weight": "w_F",
        "quotes": [
            "where M is the number of configurations, m indexes a particular configuration, N_m "
            "represents the number of atoms in configuration m , and i refers to an atomic force "
            "component.",
            "The diagonal weight matrix $W \\in \\mathbb{R}^{n \\times n}$ shown in eqn (1) "
            "provides a user-adjustable relative weighting of energy and force terms in the loss "
            "function.",
        ],
    },
    # Weight ratios w_E/w_F used in the paper
    "weights": {
        "tables_4_5_higher_energy_weight": 150.0,  # Sec. 3.2: "w_E:w_F = 150 : 1"
        # Sec. 3.2 says "12 : 1"; the weight grid of Figs. 7/8 contains 12.25, not 12, so the
        # Table 4/5 model may be the 12.25 one rounded in the text (not stated).
        "tables_4_5_higher_force_weight": 12.0,
        "fig_6": 150.0,
        "figs_7_8_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
        "fig_4_fig_5_grid": None,  # not listed in the text or captions of Figs. 4/5
        "quotes": [
            "150 : 1) and higher force weight ($w_E:w_F = 12 : 1$).",
            "Note that the datasets contain around 150 times more force components than energies "
            "as each configuration contains on average 50 atoms (see Sec. 2.1).",
            "($w_E/w_F \\in \\{5, 10, 12.25, 50, 150, 300\\}$)",
        ],
    },
    # Subset sizes and repetitions (Secs. 3.4, 3.5; Figs. 6-8)
    "subsets": {
        "min_configurations": 100,  # Figs. 7/8 captions: "ranging from 100 to 10 000"
        "max_configurations": 10000,
        "sizes": None,  # the individual subset sizes are not listed in the text
        "repetitions_per_size": None,  # not stated; Fig. 6 text only mentions "their variance"
        "candidate_pool": 10000,  # "from the 10 000 candidates" (the training half)
        "quotes": [
            "Along each line, individual markers denote different training set sizes, ranging "
            "from 100 to 10 000 configurations.",
        ],
    },
    # Sec. 2.3: leverage sampling
    "leverage": {
        "hat_matrix": "H = X (X^T X)^-1 X^T = U U^T (thin SVD X = U S V^T); score = diag(H)",
        "regular_score": "diagonal element of H on the configuration's energy row only",
        "block_score": "sum of the diagonal elements of H over the energy row and all 3 N_m force rows",
        "selection": "random draw with probability proportional to the score until the subset size",
        "note": (
            "The text writes H with the unweighted descriptor matrix X (not W X). It does not say "
            "whether the regular score takes the energy row of H built from the full X (energy + "
            "force rows) or from the energy rows only, nor whether the draw is without "
            "replacement (implied by 'until a subset of the desired size is obtained')."
        ),
        "quotes": [
            "Our sub-sampling procedure consists of randomly sampling configurations from the "
            "10 000 candidates with probabilities proportional to their leverage scores until a "
            "subset of the desired size is obtained.",
            "The leverage score of data item i is the corresponding diagonal element of the "
            "so-called hat matrix $H = X(X^T X)^{-1} X^T$.",
            "The first, which we call 'regular leverage sampling', uses the leverage score "
            "calculated from the energy descriptor row only, a method analogous to CUR "
            "decomposition.",
            "The second, 'block leverage sampling', calculates a total score by summing the "
            "individual leverage scores of all rows (energy and all force components) associated "
            "with that configuration, an approach analogous to block CUR decomposition.",
            "Importantly, configurations can be prioritized using leverage sampling without the "
            "need to carry out the related DFT simulation first",
        ],
    },
    # Energy shifts (Sec. 3.1 for Table 3; Sec. 3.2 for Table 4)
    "shifts": {
        "table_3_unshifted": "raw RMSD between level L and level 6 energies",
        "table_3_bulk_shifted": (
            "RMSD after a constant shift referencing the bulk ground state; which bulk structure "
            "and how the shift is computed is not given in the text"
        ),
        "table_3_mean_shifted": "RMSD after removing the mean difference over the dataset",
        "table_4_shifted": (
            "test RMSE after adding to the potential a constant energy offset equal to the mean "
            "prediction error (i.e. the RMSE about the mean error)"
        ),
        "default": "all energy RMSEs after Table 3 are unshifted unless said otherwise",
        "quotes": [
            "The “Unshifted” column reports raw errors.",
            "such as referencing the bulk ground state",
            "the “Bulk shifted” column reports the RMSD after applying such a shift.",
            "The “Mean shifted” column, although a dataset-dependent measure, is included to "
            "distinguish a systematic energy offset from other sources of error.",
            "Testing errors are evaluated using both an unshifted potential and a shifted "
            "potential, where the latter includes a constant energy offset equal to the mean "
            "prediction error.",
            "Unless otherwise noted, all energy RMSE values reported from this point forward are "
            "the raw ‘unshifted’ errors.",
        ],
    },
    # DFT cost of a training set (Figs. 7/8)
    "dft_cost": {
        "note": (
            "Figs. 7/8 use the total DFT time needed for the training set; the text does not "
            "spell out the formula (presumably n_configurations x Table 1 average time per "
            "configuration)."
        ),
        "quotes": [
            "their colors denote the total DFT computation time required to obtain the training "
            "set.",
        ],
    },
}

# ---------------------------------------------------------------------------------------------
# Table 2 (taken by the paper from Wood and Thompson 2018): 2Jmax -> descriptors, speed
# ---------------------------------------------------------------------------------------------
TABLE_2 = [
    {"two_jmax": 4, "n_descriptors": 105, "atom_timesteps_per_second": 4e5},
    {"two_jmax": 6, "n_descriptors": 465, "atom_timesteps_per_second": 1e5},
    {"two_jmax": 8, "n_descriptors": 1540, "atom_timesteps_per_second": 4e4},
    {"two_jmax": 10, "n_descriptors": 4186, "atom_timesteps_per_second": 2e4},
]

# ---------------------------------------------------------------------------------------------
# Table 3: DFT energy / force RMSD of levels 1-5 relative to level 6
# ---------------------------------------------------------------------------------------------
# Columns: "Energy, meV per atom" Unshifted | Bulk shifted | Mean shifted; "Forces meV Å⁻¹".
# Values exactly as printed. Level 4 "Bulk shifted" = 59.34 is printed as such (larger than
# level 3's 20.21). Which configurations enter the RMSD (all 20 000 or a half) is not stated.
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
    "reference_level": 6,
    "quotes": [
        "Table 3 Energy and force root mean squared differences relative to the 6th convergence "
        "level",
        "The results show that this procedure is often detrimental, increasing the error for most "
        "convergence levels.",
        "Finally, we observe that convergence level 5 is required to achieve energy errors lower "
        "than 1 meV per atom, which is often regarded as a target for accurate MLIPs.",
        "In addition, convergence level 1 (lowest) energies show a systematic overestimation "
        "relative to level 6 (highest) (Fig. 2).",
        "The distribution of force errors is centered at zero and symmetric",
    ],
}

# ---------------------------------------------------------------------------------------------
# Tables 4 and 5: MLIP train/test RMSEs, 2Jmax = 10, 10 000 training configurations
# ---------------------------------------------------------------------------------------------
# Rows: convergence level of the training set. Per weight setting:
#   energy_train:                  training RMSE against the training level (Table 4 "Training")
#   energy_test_self:              test half labelled at the training level ("Testing on self")
#   energy_test_level6_unshifted:  test half labelled at level 6 ("Testing on 6th", Unshifted)
#   energy_test_level6_shifted:    same, after a constant offset equal to the mean prediction
#                                  error ("Testing on 6th", Shifted)
#   force_train / force_test_self / force_test_level6: the same for forces (Table 5; no shift).
# Table 5's column header is garbled in the text extraction ("Training | Testing on self" repeated
# three times); the three columns per weight are read as Training | Testing on self | Testing on
# 6th, as in Table 4: for level 6 the 2nd and 3rd columns coincide (110.52, 106.6), as they must.
# Table 5 prints some force-weight values with one decimal (379.2, 116.4, 106.6), kept as printed.
# Energies are per atom (meV/atom); the text does not say whether force RMSEs are taken over force
# components (the loss and Fig. 2b use components).
TABLES_4_5 = {
    "two_jmax": 10,
    "n_train_configurations": 10000,
    "n_test_configurations": 10000,
    "test_reference_level": 6,
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
            "w_e_over_w_f": 12.0,  # "12 : 1" in the text; see SETUP["weights"] about 12.25
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
    "quotes": [
        "Table 4 Energy root mean squared errors (meV per atom) for MLIPs trained on 10 000 "
        "configurations at different DFT convergence levels and with the highest level of MLIP "
        "expressivity ($2J_{\\text{max}} = 10$)",
        "No shift correction is applied to force errors",
        "Each row in the table corresponds to the convergence level of the training set.",
        "The “Testing on self” column reports the RMSE values when tested on the same convergence "
        "level as the training set, while the “Testing on 6th” column reports errors when tested "
        "on 6th (highest) convergence level data.",
        "Testing errors are evaluated using both an unshifted potential and a shifted potential, "
        "where the latter includes a constant energy offset equal to the mean prediction error.",
        "we trained qSNAP potentials to half of the datasets (10 000 configurations) evaluated at "
        "the six convergence levels and subsequently tested the models on the other half",
        "Interestingly, we observe that testing errors are generally lower when models trained on "
        "lower convergence data are",
        "tested on 6th convergence data than on their own level of convergence.",
        "where the lowest energy RMSE values for the 1st, 2nd, and 3rd convergence levels occur "
        "at higher force weight.",
        "However, this is no longer true for the 4th and 5th convergence levels, where DFT errors "
        "are small and the MLIP errors become limited by the model's intrinsic ability to capture "
        "the full complexity of the dataset",
    ],
}

# ---------------------------------------------------------------------------------------------
# Fig. 4: energy vs force RMSE along the w_E/w_F sweep, 2Jmax = 10, 10 000 training configs
# ---------------------------------------------------------------------------------------------
FIG_4 = {
    "two_jmax": 10,
    "n_train_configurations": 10000,
    "levels_shown": [2, 3, 4, 6],  # level 5 omitted (overlaps level 6); level 1 out of range
    "panels": {"a": "training errors", "b": "testing errors"},
    "weights": None,  # the swept w_E/w_F values are not listed for Fig. 4
    # Levels where raising the energy weight raises the level-6 energy error (text):
    "levels_energy_error_rises_with_energy_weight": [2, 3],
    # Levels where the test energy error rises at high energy weight through overfitting (text):
    "levels_energy_overfit_at_high_energy_weight": [4, 6],
    "quotes": [
        "Convergence level 5 is omitted as it visually overlaps with convergence level 6. "
        "Convergence level 1 data fall out of the range of these plots.",
        "In these plots, the relative weight of energies *versus* forces in the regression "
        "increases/decreases from the top left to the bottom right.",
        "represents the RMSE when evaluated at the same convergence level as the training and "
        "testing set, while the solid line shows errors evaluated on the testing set evaluated at "
        "the highest (6th) convergence level.",
        "Perhaps counterintuitively, increasing the energy weight of convergence levels 2 and 3 "
        "leads to higher training and testing energy errors when measured at the 6th convergence "
        "level (solid line).",
        "In these cases, the Pareto front almost collapses to a single point which simultaneously "
        "provides the lowest energy and force errors.",
        "Note, the increase in test energy errors at high DFT convergence (levels 4 and 6, right "
        "panel of Fig. 4) can be attributed to the model using its fitting freedom to overfit to "
        "the small number of energy data points when they are weighted higher.",
        "This overfitting can be regularized by increasing the force weight.",
    ],
}

# ---------------------------------------------------------------------------------------------
# Fig. 5: as Fig. 4 (test errors) for 2Jmax = 4, 6, 8, 10
# ---------------------------------------------------------------------------------------------
FIG_5 = {
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "n_train_configurations": 10000,
    "weights": None,  # not listed
    "levels_with_similar_level6_errors_at_two_jmax_4": [3, 4, 5],
    "quotes": [
        "Fig. 5 shows that simple MLIPs are indeed less sensitive to the errors in "
        "low-convergence DFT training sets.",
        "For example, for $2J_{\\max} = 4$, the potentials trained on convergence levels 3, 4, "
        "and 5 yield similar errors when tested on a convergence level 6 testing set.",
        "show a more pronounced dependence on the training set convergence level.",
        "This suggests that lower complexity MLIPs can leverage low-convergence DFT training sets "
        "compared to higher complexity MLIPs, as they are less able to learn spurious features of "
        "the low-convergence DFT potential energy surface.",
    ],
    "note": "The 3rd quote continues 'In contrast more complex MLIPs with 2Jmax = 10'.",
}

# ---------------------------------------------------------------------------------------------
# Fig. 6: learning curves, regular / block leverage vs random sampling
# ---------------------------------------------------------------------------------------------
FIG_6 = {
    "two_jmax": 10,
    "training_level": 6,
    "test_level": 6,  # not said explicitly; "highest level of DFT convergence"
    "w_e_over_w_f": 150.0,
    "panels": {"a": "energies", "b": "forces"},
    "subset_sizes": None,  # not given in the text
    "repetitions": None,  # not given in the text
    # Full-set (10 000 configurations) errors: not given for Fig. 6 itself. The same setting
    # (2Jmax = 10, level 6, w_E/w_F = 150, 10 000 configs) appears in Tables 4/5 as
    # 5.05 meV/atom and 110.52 meV/Angstrom (test on level 6); that is a cross-reference, not a
    # statement about Fig. 6.
    "full_set_energy_rmse_mev_per_atom": None,
    "full_set_force_rmse_mev_per_angstrom": None,
    "energy_tolerance_to_full_set_mev_per_atom": 1.0,
    "n_configurations_to_reach_energy_tolerance_leverage": None,  # "a few hundred" (no number)
    "energy_cost_reduction_vs_random": 10,  # "a factor of 10"
    "force_tolerance_to_limit_mev_per_angstrom": 10.0,  # "by about 10 meV Å⁻¹"
    "force_configuration_reduction_vs_random": [3, 4],  # "3 to 4 times less configuration"
    "better_for_energy": "regular",
    "better_for_force": "block",
    "quotes": [
        "Fig. 6 Comparison of regular and block leverage sampling with random sampling "
        "($2J_{\\max} = 10$) for the highest level of DFT convergence and a fixed energy versus "
        "forces weight ($w_E/w_F = 150$).",
        "Fig. 6 highlights that leverage sampling significantly outperforms random sampling, in "
        "terms of decay rate of both the energy and force errors and of their variance with "
        "increasing number of configurations.",
        "with only a few hundred configurations being required to consistently reach within 1 meV "
        "per atom of the result obtained when using all 10 000 configurations where the error is "
        "dominated by the finite expressivity of the MLIP.",
        "This results in a reduction of computational cost by a factor of 10 compared to random "
        "sampling.",
        "Similarly, MLIPs can approach the limiting force errors by about 10 meV Å⁻¹ using 3 to 4 "
        "times less configuration than required by random selection.",
        "Finally, block leverage sampling is observed to yield lower force errors while regular "
        "leverage sampling leads to lower energy errors, although the differences between the two "
        "approaches are modest.",
        "It is important to note that the computational cost of leverage sampling is minimal, as "
        "it can be obtained at a computational cost comparable to that of a single linear "
        "regression solution on the whole dataset of 20 000 configurations.",
    ],
}

# ---------------------------------------------------------------------------------------------
# Fig. 7: Pareto-optimal MLIPs, energy vs force test RMSE (level 6 test set), colour = DFT cost
# ---------------------------------------------------------------------------------------------
# Full factorial design: levels 1-6 x leverage subsets (100-10 000) x weights x 2Jmax. The front is
# taken over DFT cost, energy RMSE and force RMSE; non-optimal models are hidden. The text does not
# list the levels on the front per panel; it states which levels are absent or rare.
FIG_7 = {
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "w_e_over_w_f_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
    "subset_size_range": [100, 10000],
    "test_level": 6,
    "sampling": "leverage",  # "subset sizes selected *via* leverage sampling" (regular or block: not said)
    "levels_on_front": [3, 4, 5, 6],  # levels the text mentions on the front (6 only at the edge)
    "levels_absent_from_front": [1, 2],
    "levels_mostly_absent_from_front": [6],
    "levels_on_front_per_panel": None,  # not given in the text (only in the figure)
    "quotes": [
        "We trained numerous qSNAP potentials using a full factorial design, varying convergence "
        "levels (1–6), subset sizes selected *via* leverage sampling, energy–force weights, and "
        "four $2J_{\\max}$ values.",
        "This comprehensive analysis allows us to map the Pareto-optimal front of possible MLIPs "
        "relating DFT computation time (cost) to energy and force RMSE (accuracy).",
        "MLIPs that are not Pareto optimal are hidden.",
        "The markers align along rough lines that correspond to varying training subset sizes at "
        "a specific energy–force weight.",
        "Several key conclusions emerge: neither the 1st nor 2nd convergence levels appear on the "
        "Pareto front, indicating that smaller higher-convergence subsets always outperform "
        "larger very-low-convergence datasets.",
        "Similarly, the 6th (highest) level convergence training set is mostly absent except at "
        "the very edge of the accessible error range, due to a marginal increase in convergence "
        "obtained in spite of the significantly higher computational cost.",
        "This phenomenon can be frequently observed on the Pareto front (especially in panels (a) "
        "and (b) of Fig. 7) where different DFT convergence levels can lead to similar accuracies "
        "and overall DFT computational costs",
        "These observations are consistent with a rule of thumb, where",
        "matching the ultimate accuracy of the MLIP and the convergence of the DFT simulation is "
        "desirable.",
    ],
}

# ---------------------------------------------------------------------------------------------
# Fig. 8 (and Fig. 7 / SI Fig. S8): force RMSE vs DFT time, colour = energy RMSE; Sec. 3.5 numbers
# ---------------------------------------------------------------------------------------------
FIG_8 = {
    "two_jmax_panels": {"a": 4, "b": 6, "c": 8, "d": 10},
    "w_e_over_w_f_grid": [5.0, 10.0, 12.25, 50.0, 150.0, 300.0],
    "subset_size_range": [100, 10000],
    "test_level": 6,
    # 2Jmax = 10 (Fig. 8d)
    "two_jmax_10": {
        "saturation_energy_rmse_mev_per_atom": 4.5,  # "around 4.5 meV per atom"
        "saturation_force_rmse_mev_per_angstrom": 105.0,  # "105 meV Å⁻¹"
        "level_reaching_force_limit": 4,
        "level_needed_for_energy_limit": 5,
        "level4_gap_to_saturation_energy_mev_per_atom": 1.5,
        "level4_gap_to_saturation_force_mev_per_angstrom": 5.0,
        "cheap_model_gap_energy_mev_per_atom": 3.0,
        "cheap_model_gap_force_mev_per_angstrom": 20.0,
        "cheap_model_dft_hours": 2.0,  # "approximately 2 h", convergence level 4
        "cheap_model_level": 4,
        # Optimal training level by total DFT budget (minutes); ">3000" has no upper bound.
        "optimal_level_by_budget_minutes": [
            {"budget_min": 10, "budget_max": 20, "levels": [3]},
            {"budget_min": 20, "budget_max": 1000, "levels": [4]},
            {"budget_min": 3000, "budget_max": None, "levels": [5, 6]},  # 6 "rarely"
        ],
    },
    # 2Jmax = 4 "intermediate" models
    "two_jmax_4": {
        "intermediate_energy_rmse_range_mev_per_atom": [30.0, 40.0],
        "intermediate_force_rmse_range_mev_per_angstrom": [260.0, 300.0],
        "dft_minutes_from": 1e2,
        "dft_minutes_to": 1e3,
        "energy_rmse_decrease_mev_per_atom": 7.0,  # "about 7 meV per atom"
        "force_rmse_decrease_mev_per_angstrom": 20.0,  # "20 meV Å⁻¹"
    },
    "quotes": [
        "For complex MLIPs ($2J_{\\max} = 10$), the limiting energy and force errors saturate "
        "around 4.5 meV per atom and 105 meV \\AA^{-1} respectively.",
        "In this case, it is possible to approach both of these limits simultaneously through a "
        "proper choice of the energy/force weights.",
        "Approaching limiting force errors (*c.f.*, Fig. 8d) is possible even with lower "
        "convergence training sets,",
        "e.g., the level 4 convergence, while approaching the ultimate energy error level requires "
        "convergence level 5 training sets (*c.f.*, Fig. 8d)",
        "Nonetheless, the effect is relatively modest in absolute terms, as even convergence level "
        "4 training sets produce MLIPs whose errors are within 1.5 meV per atom and 5 meV \\AA^{-1} "
        "of the saturation limit.",
        "For example, models with energy and force errors within 3 meV per atom and 20 meV",
        "can be obtained with only approximately 2 h of total computational time for DFT "
        "simulation using convergence level 4.",
        "In fact, errors show a very fast decrease in the first hour of DFT simulations, followed "
        "by a significant slowing down where further improvements come at a high computational "
        "cost.",
        "as a small amount of computational resources (10–20 minutes) favors convergence level 3 "
        "training sets, intermediate budgets (20–1000 minutes) tend to favor convergence level 4 "
        "training sets, and large budgets (>3000 minutes) tend to favor convergence level 5 or "
        "rarely even level 6 training sets.",
        "With low-complexity MLIPs ($2J_{\\text{max}} = 4$ and $2J_{\\text{max}} = 6$), limiting "
        "energy and force errors worsen significantly.",
        "Simultaneously approaching both limits using a simple energy–force weighting is no longer "
        "feasible due to a strong energy–force error trade-off.",
        "one observes that increasing the computational resources for DFT simulation from 10^2 to "
        "10^3 minutes leads to a substantial decrease in energy and force errors (in absolute "
        "terms) by about 7 meV per atom and 20 meV \\AA^{-1} , respectively",
        "even leading to worsening test errors in some cases,¹⁸ a phenomenon that can also be "
        "observed here for energy errors at large force weights.",
    ],
}

# ---------------------------------------------------------------------------------------------
# Sec. 4 (Discussion) and Sec. 5 (Conclusion): cost-saving summary
# ---------------------------------------------------------------------------------------------
# The text cites "Fig. 7d" for the 2Jmax = 4 statement, while the Fig. 7 caption has panel (d) =
# 2Jmax = 10 and (a) = 2Jmax = 4; recorded as printed.
DISCUSSION = {
    "level5_vs_level6_cost_reduction": 10,
    "level4_vs_full_level5_cost_reduction_two_jmax_ge_6": 10,
    "level4_vs_level6_cost_reduction_two_jmax_ge_6": 100,
    "level3_vs_level5_cost_reduction_two_jmax_4": 50,
    "level3_vs_level6_cost_reduction_two_jmax_4": 500,  # "over 500 times"
    "near_saturation_dft_hours": 2.0,
    "quotes": [
        "Table 4 and 5, along with Fig. 7, show that MLIPs trained on convergence level 5 "
        "training sets provide the same level of accuracy as those trained on convergence level 6 "
        "at a 10-fold reduction in cost.",
        "training to medium convergence data (level 4 in our case) selected by leverage sampling "
        "can produce MLIPs nearly as accurate as those trained on convergence level 5 training "
        "sets.",
        "This approach can reduce the DFT computational cost by about 10 times compared to using "
        "the full convergence level 5 training set, and up to about 100 times compared to using "
        "the highest convergence level.",
        "Fig. 7d shows that in these cases, lower-convergence data can be used.",
        "Using convergence level 3 saves about 50 times the computational cost for DFT simulation "
        "compared to convergence level 5, and over 500 times compared to convergence level 6 to "
        "characterize the whole training set.",
        "we observed that MLIPs for unary beryllium that approach the intrinsic error saturation "
        "limit by a few meV per atom and meV Å⁻¹ respectively can be obtained with as little as 2 "
        "hours of aggregate computational resources for DFT simulation using medium convergence "
        "training sets",
    ],
}
