"""Open Dental, reached through its REST API: the ODFHIR key pair, ``Limit``/``Offset`` paging capped at 100,
office-local times, about one request per second."""

from adapters.opendental.adapter import OpenDentalAdapter
from adapters.opendental.config import OpenDentalConfig
from adapters.opendental.sandbox.command import serve_opendental
from adapters.opendental.sandbox.harness import OpenDentalHarness
from adapters.vendor import Vendor

VENDOR = Vendor(
    kind=OpenDentalAdapter.kind,
    config=OpenDentalConfig,
    adapter=OpenDentalAdapter,
    sandbox=serve_opendental,
    harness=OpenDentalHarness,
)

__all__ = ["VENDOR", "OpenDentalAdapter", "OpenDentalConfig"]
