"""pyiron job classes: thin shells around the numerical core that store inputs and outputs in HDF5."""
