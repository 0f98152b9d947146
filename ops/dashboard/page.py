"""The HTML: Jinja2 templates (``templates/``), autoescaped, with a few filters for times and rates."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ops.dashboard.settings import DashboardSettings
from ops.dashboard.view import View

__all__ = ["Pages", "ago", "percent"]


class Pages:
    def __init__(self, settings: DashboardSettings) -> None:
        self._settings = settings
        self._env = Environment(
            loader=PackageLoader("ops.dashboard", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters |= {"percent": percent, "ms": _ms, "clock": _clock, "rate": _rate}

    def page(self, view: View) -> str:
        return self._env.get_template("page.html.j2").render(self._context(view))

    def live(self, view: View) -> str:
        """The part of the page that the refresh script swaps in."""
        return self._env.get_template("live.html.j2").render(self._context(view))

    def _context(self, view: View) -> dict[str, object]:
        return {
            "view": view,
            "settings": self._settings,
            "ago": lambda instant: ago(instant, view.now),
        }


def ago(instant: datetime | None, now: datetime) -> str:
    """``"12s ago"``, ``"3m ago"``, ``"2h ago"``, ``"in 40s"``; ``"never"`` for None."""
    if instant is None:
        return "never"
    seconds = (now - instant).total_seconds()
    text = _span(abs(seconds))
    return f"in {text}" if seconds < -0.5 else f"{text} ago"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def percent(rate: float | None) -> str:
    if rate is None:
        return "-"
    return f"{rate:.0%}" if rate >= 0.01 or rate == 0 else "<1%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}s" if value >= 10_000 else f"{value:.0f}"


def _clock(instant: datetime | None) -> str:
    return "" if instant is None else instant.isoformat(timespec="seconds")


def _rate(per_s: float) -> str:
    return f"{per_s:.1f}/s" if per_s < 100 else f"{per_s:.0f}/s"
