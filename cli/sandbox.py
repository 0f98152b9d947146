"""``pms-relay sandbox <vendor>``: run a vendor sandbox that speaks that vendor's dialect (see the README).

One command per vendor of :data:`adapters.vendors.VENDORS`; each vendor's sandbox declares its own options
(``adapters/<vendor>/sandbox/command.py``).
"""

from __future__ import annotations

import typer

from adapters.vendors import VENDORS

__all__ = ["app"]

app = typer.Typer(
    help="Run a PMS sandbox that emulates a vendor's API, with switchable faults.", no_args_is_help=True
)

for _vendor in VENDORS:
    app.command(_vendor.name)(_vendor.sandbox)
