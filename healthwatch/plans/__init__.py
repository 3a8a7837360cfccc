"""Five-year health plans as checked data: the model, the packaged plans and consistency checks.

>>> from healthwatch.plans import builtin_plans, check_plans
>>> liaoning, anshan = builtin_plans()
>>> anshan.indicator("infant_mortality").target.text_zh
'≤5.0‰'
"""

from healthwatch.plans.checks import FINDING_KINDS, Finding, check_plans
from healthwatch.plans.loader import (
    BUILTIN_PLAN_IDS,
    builtin_plans,
    default_known_adcodes,
    load_plan_file,
    load_plan_files,
    parse_plan,
)
from healthwatch.plans.model import (
    TARGET_KINDS,
    UNITS,
    Baseline,
    ContextFigure,
    Indicator,
    Plan,
    Project,
    SupplementaryTarget,
    Target,
    plan_json_schema,
)

__all__ = [
    "BUILTIN_PLAN_IDS",
    "FINDING_KINDS",
    "TARGET_KINDS",
    "UNITS",
    "Baseline",
    "ContextFigure",
    "Finding",
    "Indicator",
    "Plan",
    "Project",
    "SupplementaryTarget",
    "Target",
    "builtin_plans",
    "check_plans",
    "default_known_adcodes",
    "load_plan_file",
    "load_plan_files",
    "parse_plan",
    "plan_json_schema",
]
