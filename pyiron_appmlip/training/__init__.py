"""Training layer: DFT labels joined to descriptors by configuration id (``labels``), the sweep
grid and the sweep over streamed statistics (``sweep``). Pure numpy: the pyiron jobs in
:mod:`pyiron_appmlip.jobs` are thin shells around these functions."""
