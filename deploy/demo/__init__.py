"""``pms-relay demo``: the whole system on this machine, driven through a receptionist's scenario.

A throwaway Kafka, every vendor's sandbox and the workers are started as processes (:mod:`.system`), a
practice registry is written from the sandboxes' seed summaries (:mod:`.registry`), and the scenario
(:mod:`.scenario`) sends commands through the platform client, first as a receptionist would, then under
faults injected through the sandboxes' admin APIs. :mod:`.report` prints it all; everything stops at the end.
"""

from deploy.demo.report import CHECKS, Reporter
from deploy.demo.scenario import ScenarioSettings, Target, run_scenario
from deploy.demo.system import DemoOptions, DemoSystem, default_work_root

__all__ = [
    "CHECKS",
    "DemoOptions",
    "DemoSystem",
    "Reporter",
    "ScenarioSettings",
    "Target",
    "default_work_root",
    "run_scenario",
]
