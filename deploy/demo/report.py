"""What the demo shows: one line per command sent and per answer, alerts and dead letters as they arrive, a
running tally per outcome, and the summary table at the end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from deploy.demo.hook import HookAlert
from deploy.demo.watch import Alert, DeadLetter

__all__ = ["CHECKS", "Reporter", "Step"]

# The outcomes a full run must show, in the order of the summary; the keys are what the scenario checks.
CHECKS = {
    "result": "results (receptionist flow, every PMS)",
    "retry": "retry: succeeded with attempts > 1",
    "circuit": "circuit open alert, then recovered",
    "circuit_alert": "circuit alert fired and resolved",
    "dead_letter": "dead letter: error event + DLT copy",
    "deadline": "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class Step:
    section: str
    practice: str
    what: str
    outcome: str  # "result" or the error code
    attempts: int
    latency_ms: int
    detail: str
    ok: bool


class Reporter:
    """Prints progress; keeps the tally, the steps and the checks the summary and the exit code come from."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.steps: list[Step] = []
        self.tally: Counter[str] = Counter()
        self.checks: dict[str, bool | None] = dict.fromkeys(CHECKS)
        self.traces: list[tuple[str, str]] = []  # (which command, its trace's URL in Zipkin)
        self._live: Live | None = None

    def __enter__(self) -> Reporter:
        if self.console.is_terminal:
            self._live = Live(self._tally_text(), console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    # -- progress ------------------------------------------------------------------------------------------

    def section(self, title: str) -> None:
        if self._live is None and self.tally:  # no live footer (not a terminal): the tally between sections
            self.console.print(self._tally_text(), highlight=False)
        self.console.rule(f"[bold]{title}")

    def trace(self, what: str, url: str) -> None:
        """Where to open a command's trace in Zipkin (kept for "where to look next")."""
        self.traces.append((what, url))
        self.console.print(f"  [magenta]trace[/] of {what}: {url}", highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]{text}[/]", highlight=False)

    def sent(self, practice: str, command: str, what: str) -> None:
        self.console.print(f"  [cyan]→[/] {practice:<8} {command:<19} {what}", highlight=False)

    def answered(self, step: Step) -> None:
        self.steps.append(step)
        self.tally["results" if step.outcome == "result" else f"error {step.outcome}"] += 1
        colour = "green" if step.outcome == "result" else "yellow" if step.ok else "red"
        mark = "" if step.ok else "  [red bold]UNEXPECTED[/]"
        self.console.print(
            f"  [{colour}]←[/] {step.practice:<8} [{colour}]{step.outcome:<19}[/] attempts={step.attempts} "
            f"{step.latency_ms:>5} ms  {step.detail}{mark}",
            highlight=False,
        )
        self._refresh()

    def alert(self, alert: Alert) -> None:
        self.tally["alerts"] += 1
        self.console.print(
            f"  [magenta]⚡ alert[/] circuit of {alert.practice_id}: {alert.old} → [bold]{alert.new}[/] "
            f"(failures={alert.failures}, at {alert.at})",
            highlight=False,
        )
        self._refresh()

    def webhook(self, alert: HookAlert) -> None:
        """An alert the alerts service posted to the demo's receiver: its dedup key and status only."""
        self.tally[f"webhook {alert.status}"] += 1
        colour = "magenta" if alert.status == "firing" else "green"
        self.console.print(
            f"  [{colour}]✉ webhook[/] {alert.status}: {alert.dedup_key}", highlight=False, soft_wrap=True
        )
        self._refresh()

    def dead_letter(self, letter: DeadLetter, topic: str) -> None:
        self.tally["dead letters"] += 1
        shown = ", ".join(f"{k}={v}" for k, v in letter.headers if k.startswith("pms-") or k == "ce_id")
        self.console.print(f"  [red]☠ dead letter[/] on {topic} key={letter.key}: {shown}", highlight=False)
        self._refresh()

    def check(self, name: str, passed: bool) -> None:
        # A check that failed once stays failed.
        self.checks[name] = passed and self.checks[name] is not False

    def _tally_text(self) -> Text:
        parts = [f"{name} {count}" for name, count in sorted(self.tally.items())]
        return Text("  tally: " + (" · ".join(parts) or "nothing yet"), style="bold")

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._tally_text())

    # -- the end -------------------------------------------------------------------------------------------

    @property
    def passed(self) -> bool:
        return all(self.checks[name] for name in self._expected())

    def _expected(self) -> list[str]:
        return [name for name, value in self.checks.items() if value is not None or name == "result"]

    def summary(self) -> None:
        steps = Table(title="Commands", title_justify="left", expand=False)
        for column in ("section", "practice", "what", "outcome", "attempts", "ms", "as expected"):
            steps.add_column(column, no_wrap=column != "what")
        for step in self.steps:
            steps.add_row(
                step.section,
                step.practice,
                step.what,
                step.outcome,
                str(step.attempts),
                str(step.latency_ms),
                "yes" if step.ok else "[red]NO[/]",
            )
        self.console.print(steps)
        outcomes = Table(title="Outcomes", title_justify="left", expand=False)
        outcomes.add_column("outcome", no_wrap=True)
        outcomes.add_column("seen", no_wrap=True)
        for name, label in CHECKS.items():
            value = self.checks[name]
            shown = "skipped" if value is None else "[green]PASS[/]" if value else "[red]FAIL[/]"
            outcomes.add_row(label, shown)
        self.console.print(outcomes)
        tally = " · ".join(f"{name} {count}" for name, count in sorted(self.tally.items()))
        self.console.print(f"tally: {tally}", highlight=False)
