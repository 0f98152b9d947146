"""The receptionist's morning, through :class:`client.relay.PMSRelayClient`, then the same relay under
faults injected through the sandboxes' admin APIs.

For each practice (Dentrix, Eaglesoft, Open Dental): find a patient by name and birth date (not found: create
them), list locations and operatories, book a free slot next week, confirm it, reschedule it. Then, at once: a 503 burst on Dentrix
(the command succeeds on a later attempt), sustained 503s on Dentrix (a command runs through every retry tier
into the dead letters), a deadline shorter than the first retry wait (DEADLINE_EXCEEDED), and sustained
503s on Eaglesoft (its circuit opens, an alert is published; once the PMS recovers the waiting commands
succeed). The alerts service posts a ``circuit_open`` alert for it to the demo's webhook receiver, and its
resolution once the circuit has closed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from adapters.domain import (
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    Location,
    PatientCreateData,
    PatientSearchQuery,
    Phone,
    PhoneType,
)
from client.relay import CommandFailed, PMSRelayClient, ReplyTimeout, build_command
from deploy.demo.hook import AlertHook
from deploy.demo.report import Reporter, Step
from deploy.demo.slots import free_slots, next_week
from deploy.demo.watch import TopicWatch
from ops.zipkin import trace_url
from schemas.envelopes import (
    AppointmentList,
    CommandPayload,
    CreateAppointmentPayload,
    CreatePatientPayload,
    ListAppointmentsPayload,
    ListLocationsPayload,
    ListOperatoriesPayload,
    LocationList,
    OperatoryList,
    PatientList,
    ResultEnvelope,
    SearchPatientsPayload,
    UpdateAppointmentPayload,
)
from streams.topics import TopicNames
from streams.tracing import tracer

__all__ = ["DEMO_PATIENT", "ScenarioSettings", "Target", "run_scenario"]

# A made-up person: no sandbox seeds them, so the first search finds nothing and the create path runs.
DEMO_PATIENT = PatientCreateData(
    first_name="Marisol",
    last_name="Quintero-Vance",
    date_of_birth=date(1987, 5, 14),
    phones=(Phone(number="555-010-7788", type=PhoneType.MOBILE),),
    email="marisol.qv@example.com",
)
_CIRCUIT_COMMANDS = 4


@dataclass(frozen=True)
class Target:
    practice_id: str
    pms: str  # "Dentrix" / "Eaglesoft", for the screen
    time_zone: str
    sandbox_url: str


@dataclass(frozen=True)
class ScenarioSettings:
    bootstrap_servers: str
    topics: TopicNames
    dentrix: Target
    eaglesoft: Target
    opendental: Target | None = None  # its receptionist flow runs too, at the real API's pace
    faults: bool = True
    in_call_attempts: int = 3  # the adapters' default max_attempts: a burst this long fails one attempt
    answer_timeout: float = 60.0
    zipkin_url: str | None = None  # where the traces of the retried and the dead-lettered commands are


@dataclass(frozen=True)
class Outcome:
    command_id: uuid.UUID
    ok: bool
    result: ResultEnvelope | None = None
    error: CommandFailed | None = None
    trace_id: str | None = None  # when the demo traces (its span is the root of the command's trace)

    def payload(self) -> Any:
        if self.result is None:
            raise _StepFailed
        return self.result.payload


class _StepFailed(Exception):
    """A step the rest of a flow depends on did not give what it needs (already reported)."""


async def run_scenario(
    settings: ScenarioSettings, reporter: Reporter, watch: TopicWatch, hook: AlertHook | None = None
) -> None:
    async with PMSRelayClient(
        settings.bootstrap_servers,
        prefix=settings.topics.prefix,
        client_id="pms-relay-demo",
        timeout=settings.answer_timeout,
    ) as client:
        scenario = _Scenario(client, settings, reporter, watch, hook)
        follower = asyncio.create_task(scenario.follow_watch())
        try:
            for target in (settings.dentrix, settings.eaglesoft, settings.opendental):
                if target is None:
                    continue
                reporter.section(f"Receptionist at {target.practice_id} ({target.pms})")
                await scenario.receptionist(target)
            if settings.faults:
                reporter.section("The same relay under injected faults")
                await scenario.faults()
            await asyncio.sleep(0.5)  # the watch may still be reading the last alert
        finally:
            follower.cancel()
            scenario.flush_watch()


class _Scenario:
    def __init__(
        self,
        client: PMSRelayClient,
        settings: ScenarioSettings,
        reporter: Reporter,
        watch: TopicWatch,
        hook: AlertHook | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.reporter = reporter
        self.watch = watch
        self.hook = hook
        self._shown_hook = 0
        self.locations: dict[str, Location] = {}
        self._shown_alerts = 0
        self._shown_letters = 0

    # -- one command -------------------------------------------------------------------------------------

    async def call(
        self,
        section: str,
        practice: str,
        what: str,
        payload: CommandPayload,
        *,
        expect: str = "result",
        deadline: float | None = None,
        describe: Callable[[Any], str] = lambda _: "",
        check: Callable[[Any], bool] = lambda _: True,
    ) -> Outcome:
        command = build_command(practice, payload, deadline=deadline, requested_by="pms-relay-demo")
        note = f"{what} (deadline {deadline:g}s)" if deadline is not None else what
        self.reporter.sent(practice, command.command_type.value, note)
        started = time.monotonic()
        result: ResultEnvelope | None = None
        error: CommandFailed | None = None
        # The receptionist's span: the root of the command's trace (its name and attributes: ids only).
        attributes = {"pms.practice_id": practice, "messaging.message.id": str(command.command_id)}
        with tracer().start_as_current_span(
            f"receptionist {command.command_type.value}", attributes=attributes
        ) as span:
            try:
                result = await self.client.send(command, timeout=self.settings.answer_timeout)
            except CommandFailed as exc:
                error = exc
                outcome, attempts, detail = exc.code.value, exc.attempts, exc.message
            except ReplyTimeout:
                outcome, attempts, detail = "NO ANSWER", 0, f"none within {self.settings.answer_timeout:g}s"
            else:
                outcome, attempts, detail = "result", result.attempts, describe(result.payload)
        ok = outcome == expect and (result is None or check(result.payload))
        latency = int((time.monotonic() - started) * 1000)
        self.reporter.answered(Step(section, practice, what, outcome, attempts, latency, detail, ok))
        context = span.get_span_context()
        trace_id = f"{context.trace_id:032x}" if context.is_valid else None
        return Outcome(command.command_id, ok, result, error, trace_id)

    def show_trace(self, what: str, outcome: Outcome) -> None:
        if self.settings.zipkin_url and outcome.trace_id:
            self.reporter.trace(what, trace_url(self.settings.zipkin_url, outcome.trace_id))

    # -- the receptionist ------------------------------------------------------------------------------

    async def receptionist(self, target: Target) -> None:
        try:
            await self._receptionist(target)
        except _StepFailed:
            self.reporter.check("result", False)
            self.reporter.note(f"{target.practice_id}: the flow stopped at the step above")
        else:
            self.reporter.check("result", True)

    async def _receptionist(self, target: Target) -> None:
        section, practice, zone = "receptionist", target.practice_id, ZoneInfo(target.time_zone)

        async def step(what: str, payload: CommandPayload, **kwargs: Any) -> Any:
            outcome = await self.call(section, practice, what, payload, **kwargs)
            if not outcome.ok:
                raise _StepFailed
            return outcome.payload()

        query = PatientSearchQuery(
            first_name=DEMO_PATIENT.first_name,
            last_name=DEMO_PATIENT.last_name,
            date_of_birth=DEMO_PATIENT.date_of_birth,
        )
        who = f"{DEMO_PATIENT.first_name} {DEMO_PATIENT.last_name}, born {DEMO_PATIENT.date_of_birth}"
        found: PatientList = await step(
            f"find {who}", SearchPatientsPayload(query=query), describe=lambda r: f"{len(r.patients)} found"
        )
        if found.patients:
            patient = found.patients[0]
            self.reporter.note(f"found patient id={patient.id}")
        else:
            patient = await step(
                "not found -> create the patient",
                CreatePatientPayload(patient=DEMO_PATIENT),
                describe=lambda r: f"not found -> created, patient id={r.id}",
            )
        locations: LocationList = await step(
            "list locations",
            ListLocationsPayload(),
            describe=lambda r: ", ".join(f"{loc.id}:{loc.name}" for loc in r.locations),
        )
        location = next(
            (loc for loc in locations.locations if loc.time_zone == target.time_zone),
            locations.locations[0] if locations.locations else None,
        )
        if location is None:
            raise _StepFailed
        self.locations[practice] = location
        operatories: OperatoryList = await step(
            f"list operatories of location {location.id}",
            ListOperatoriesPayload(location_id=location.id),
            describe=lambda r: ", ".join(
                f"{o.id}:{o.short_name or o.name}{'' if o.active else ' (inactive)'}" for o in r.operatories
            ),
        )
        monday, friday = next_week(datetime.now(zone).date())
        week = DateRange(
            start=datetime.combine(monday, datetime.min.time(), zone),
            end=datetime.combine(friday + timedelta(days=1), datetime.min.time(), zone),
        )
        booked: AppointmentList = await step(
            f"next week's book ({monday} - {friday})",
            ListAppointmentsPayload(location_id=location.id, range=week),
            describe=lambda r: f"{len(r.appointments)} appointments booked",
        )
        days = [monday + timedelta(days=n) for n in range(5)]
        choice = None
        for operatory in (o for o in operatories.operatories if o.active):
            slots = free_slots(booked.appointments, operatory.id, days, target.time_zone)
            if slots:
                choice = operatory, slots
                break
        if choice is None:
            self.reporter.note("no free slot in any active operatory next week")
            raise _StepFailed
        operatory, slots = choice
        start, end = slots[0]

        def local(instant: datetime) -> str:
            return f"{instant.astimezone(zone):%a %d %b %H:%M} {target.time_zone}"

        appointment = await step(
            f"book {local(start)} in operatory {operatory.id}",
            CreateAppointmentPayload(
                appointment=AppointmentCreateData(
                    patient_id=patient.id,
                    location_id=location.id,
                    operatory_id=operatory.id,
                    start=start,
                    end=end,
                )
            ),
            describe=lambda r: f"appointment id={r.id} {r.status.value}",
        )
        await step(
            "confirm it",
            UpdateAppointmentPayload(
                appointment_id=appointment.id,
                updates=AppointmentUpdateData(status=AppointmentStatus.CONFIRMED),
            ),
            describe=lambda r: f"status {r.status.value}",
            check=lambda r: r.status is AppointmentStatus.CONFIRMED,
        )
        new_start, new_end = next(
            s for s in slots if s[0].astimezone(zone).date() > start.astimezone(zone).date()
        )
        await step(
            f"reschedule to {local(new_start)}",
            UpdateAppointmentPayload(
                appointment_id=appointment.id, updates=AppointmentUpdateData(start=new_start, end=new_end)
            ),
            describe=lambda r: f"now {local(r.start)}, {r.status.value}",
            check=lambda r: r.start == new_start,
        )

    # -- faults ----------------------------------------------------------------------------------------

    async def faults(self) -> None:
        dx, es = self.settings.dentrix, self.settings.eaglesoft
        burst = self.settings.in_call_attempts
        await _set_faults(
            dx.sandbox_url,
            [
                {"kind": "error", "status": 503, "method": "GET", "path": "/patients", "count": burst},
                {"kind": "error", "status": 503, "method": "GET", "path": "/appointments"},
            ],
        )
        self.reporter.note(
            f"Dentrix sandbox: the next {burst} GET /patients answer 503 (every in-call try of one attempt); "
            "every GET /appointments answers 503"
        )
        await _set_faults(
            es.sandbox_url, [{"kind": "error", "status": 503, "method": "GET", "path": "/patients"}]
        )
        self.reporter.note("Eaglesoft sandbox: every GET /patients answers 503")
        try:
            await asyncio.gather(
                self._retry(dx), self._dead_letter(dx), self._deadline(dx), self._circuit(es)
            )
        finally:
            for target in (dx, es):
                await _clear_faults(target.sandbox_url)
            self.reporter.note("faults cleared on both sandboxes")

    async def _retry(self, target: Target) -> None:
        outcome = await self.call(
            "faults",
            target.practice_id,
            "search during a 503 burst",
            SearchPatientsPayload(query=PatientSearchQuery(last_name=DEMO_PATIENT.last_name)),
            describe=lambda r: f"{len(r.patients)} found, after a retry tier",
            check=lambda _: True,
        )
        self.reporter.check(
            "retry", outcome.ok and outcome.result is not None and outcome.result.attempts > 1
        )
        self.show_trace("the command that retried", outcome)

    async def _dead_letter(self, target: Target) -> None:
        location = self.locations.get(target.practice_id)
        outcome = await self.call(
            "faults",
            target.practice_id,
            "list appointments while the PMS keeps failing",
            ListAppointmentsPayload(location_id=location.id if location else None, range=_tomorrow()),
            expect="UNAVAILABLE",
        )
        command_id = str(outcome.command_id)
        copied = await _wait_for(
            lambda: any(d.header("ce_id") == command_id for d in self.watch.dead_letters()), within=15
        )
        if not copied:
            self.reporter.note(f"no copy of command {command_id} on {self.settings.topics.dead_letters}")
        self.reporter.check("dead_letter", outcome.ok and copied)
        self.show_trace("the command that was dead-lettered", outcome)

    async def _deadline(self, target: Target) -> None:
        first_wait = self.settings.topics.tiers.delays[0]
        location = self.locations.get(target.practice_id)
        outcome = await self.call(
            "faults",
            target.practice_id,
            f"list appointments, deadline < the {first_wait:g}s retry wait",
            ListAppointmentsPayload(location_id=location.id if location else None, range=_tomorrow()),
            expect="DEADLINE_EXCEEDED",
            deadline=first_wait * 0.75,
        )
        self.reporter.check("deadline", outcome.ok)

    async def _circuit(self, target: Target) -> None:
        practice = target.practice_id
        calls = asyncio.gather(
            *(
                self.call(
                    "faults",
                    practice,
                    f"search #{n + 1} while the PMS fails",
                    SearchPatientsPayload(query=PatientSearchQuery(last_name=DEMO_PATIENT.last_name)),
                    describe=lambda r: f"{len(r.patients)} found once the circuit closed",
                )
                for n in range(_CIRCUIT_COMMANDS)
            )
        )
        opened = await _wait_for(lambda: self._circuit_went(practice, "open"), within=30)
        self.flush_watch()  # the alert first, then what happens next
        if opened:
            self.reporter.note(
                f"{target.pms} recovers: faults cleared; the open circuit waits, then tries once"
            )
        else:
            self.reporter.note(f"no 'open' alert for {practice} on {self.settings.topics.alerts}")
        await _clear_faults(target.sandbox_url)
        outcomes = await calls
        closed = await _wait_for(lambda: self._circuit_went(practice, "closed"), within=10)
        self.reporter.check("circuit", opened and closed and all(o.ok for o in outcomes))
        if self.hook is not None:
            await self._circuit_alert(practice)

    async def _circuit_alert(self, practice: str) -> None:
        """The alerts service's view of the same circuit, on the demo's webhook receiver. It reads the workers'
        status records (every ``--status-interval``), so the resolution comes a few seconds after "closed";
        meanwhile the dead-lettered command is still going through its retry tiers, so the demo waits no longer."""
        assert self.hook is not None
        hook = self.hook
        done = await _wait_for(lambda: hook.fired_and_resolved("circuit_open", practice), within=20)
        self.flush_watch()
        if not done:
            self.reporter.note(f"no circuit_open alert fired and resolved for {practice} on {hook.url}")
        self.reporter.check("circuit_alert", done)

    def _circuit_went(self, practice: str, state: str) -> bool:
        return any(a.practice_id == practice and a.new == state for a in self.watch.alerts())

    # -- the watch -------------------------------------------------------------------------------------

    async def follow_watch(self) -> None:
        while True:
            self.flush_watch()
            await asyncio.sleep(0.2)

    def flush_watch(self) -> None:
        alerts, letters = self.watch.alerts(), self.watch.dead_letters()
        for alert in alerts[self._shown_alerts :]:
            self.reporter.alert(alert)
        for letter in letters[self._shown_letters :]:
            self.reporter.dead_letter(letter, self.settings.topics.dead_letters)
        self._shown_alerts, self._shown_letters = len(alerts), len(letters)
        if self.hook is not None:
            posted = self.hook.alerts()
            for alert in posted[self._shown_hook :]:
                self.reporter.webhook(alert)
            self._shown_hook = len(posted)


def _tomorrow() -> DateRange:
    start = datetime.now(ZoneInfo("UTC")).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )
    return DateRange(start=start, end=start + timedelta(days=1))


async def _wait_for(condition: Callable[[], bool], *, within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def _set_faults(base_url: str, rules: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as admin:
        (await admin.post("/_admin/faults", json={"rules": rules})).raise_for_status()


async def _clear_faults(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as admin:
        (await admin.delete("/_admin/faults")).raise_for_status()
