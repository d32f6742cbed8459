"""Planning a DFT campaign before it is run: a small pilot chosen from the candidates'
descriptors, whose cost is known before any calculation (:mod:`.pilot`), and the plan that
error models fitted to it give for a budget (:mod:`.plan`)."""

from .pilot import PilotDesign, design_pilot
from .plan import CampaignPlan, PlanSetting, plan_campaign

__all__ = ["PilotDesign", "design_pilot", "CampaignPlan", "PlanSetting", "plan_campaign"]
