"""The adversarial proof of pms-relay's guarantees: a chaos run (faults on every sandbox, malformed input,
workers SIGKILLed mid-run) judged from the outside: from the broker's answers and the sandboxes' read-outs.

``tests/integration/test_chaos.py`` runs a short one; ``python -m deploy.bench.chaos`` the long one.
"""

from tests.chaos.report import describe
from tests.chaos.run import ChaosConfig, ChaosResult, ChaosRun, Kill

__all__ = ["ChaosConfig", "ChaosResult", "ChaosRun", "Kill", "describe"]
