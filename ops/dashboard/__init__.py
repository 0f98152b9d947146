"""The operator dashboard: one server-rendered page for the whole cluster, built from the status topic, the
alerts, the dead letters and the workers' group offsets (``pms-relay dashboard``).

Read it in this order: :mod:`records` (the status topic's contract), :mod:`state` (what is folded from Kafka),
:mod:`levels` (red/amber/green and why), :mod:`view` (one page's rows, worst first), :mod:`page` and
``templates/`` (the HTML), :mod:`app` (the HTTP routes), :mod:`feed` (the Kafka side).
"""

from ops.dashboard.app import Source, build_app
from ops.dashboard.feed import Feed
from ops.dashboard.settings import DashboardSettings

__all__ = ["DashboardSettings", "Feed", "Source", "build_app"]
