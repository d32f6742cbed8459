"""DFT layer: convergence levels and the k-point rule (``levels``), the engines that run one
single-point calculation at a level (``engines``: GPAW, VASP) and the cost model of a level
(``cost``)."""
