"""Training layer: DFT labels joined to descriptors by configuration id (``labels``), the sweep
grid and the sweep over streamed statistics (``sweep``), the fit table's columns (``table``),
the DFT cost of training sets (``costs``) and the per-group error table of a model
(``group_errors``). No pyiron: the pyiron jobs in :mod:`pyiron_appmlip.jobs` are thin shells
around these functions."""
