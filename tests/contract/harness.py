"""The harness protocol moved beside the sandboxes it drives: :mod:`adapters.sandbox.harness`.

Kept as a re-export for modules that still import it from here (the chaos and end-to-end tests, the benchmarks).
"""

from adapters.sandbox.harness import (
    AdapterOverrides,
    AdminApi,
    Fault,
    FaultKind,
    KnownRecords,
    LoggedRequest,
    Resource,
    SandboxHarness,
    fault_rule,
)

__all__ = [
    "AdapterOverrides",
    "AdminApi",
    "Fault",
    "FaultKind",
    "KnownRecords",
    "LoggedRequest",
    "Resource",
    "SandboxHarness",
    "fault_rule",
]
