"""Reference datasets labelled by this package's own DFT jobs (see :mod:`.be`)."""
