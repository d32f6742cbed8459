"""Units. Internally: Angstrom, eV, eV/Angstrom; stress in eV/Angstrom^3 with ASE's sign
(positive = tensile). Reported errors: energy RMSE in meV/atom, force RMSE in meV/Angstrom."""

MEV_PER_EV = 1000.0
EV_PER_A3_TO_GPA = 160.21766208
EV_PER_A3_TO_BAR = EV_PER_A3_TO_GPA * 1.0e4
