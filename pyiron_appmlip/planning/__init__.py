"""Planning a DFT campaign before it is run: a small pilot, chosen from the candidates'
descriptors, whose cost is known before any calculation (:mod:`.pilot`)."""

from .pilot import PilotDesign, design_pilot

__all__ = ["PilotDesign", "design_pilot"]
