"""Fault plans: which requests a sandbox slows down, fails, hangs or drops, decided from a seed.

A plan is an ordered list of :class:`FaultRule`. For each request (admin routes excepted) every rule is
checked in order:

- *scope*: ``method`` (``POST`` or ``POST|PUT``; none = any) and ``path`` (a prefix of the full path, or of
  the path below the vendor's API base, e.g. ``/appointments``), and ``duration_s`` (the rule only lives
  that long after the plan was installed);
- *counting*: ``skip`` lets the first N matching requests through untouched, ``count`` retires the rule
  after it fired N times ("the next 3 requests"); ``probability`` fires it on a seeded coin toss instead.

Latency rules add up; the first *terminal* rule that fires (error, rate_limit, hang, refuse,
lost_response) decides what happens to the request, and later terminal rules are not consulted, so they do
not spend their counts. ``stale_reads`` tags the writes it fires on with a read lag; ``expire_tokens``
revokes every token before the request is handled.

Everything random comes from the ``random.Random`` handed to :meth:`FaultPlan.decide`, so a plan replayed
with the same seed and the same request sequence makes the same decisions. No coin is tossed for a rule
whose probability is 1, which keeps count-based plans independent of the seed.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Action",
    "Decision",
    "FaultEngine",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "RequestInfo",
    "parse_fault_spec",
    "rules_from_json",
]

# z-score of the 99th percentile of a standard normal: turns a (p50, p99) pair into a log-normal sigma.
_Z99 = 2.3263


class FaultKind(StrEnum):
    LATENCY = "latency"  # extra delay before the request is handled
    ERROR = "error"  # a 5xx answer in the vendor's error dialect
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After
    HANG = "hang"  # sleep ``seconds``, then answer normally or drop the connection
    REFUSE = "refuse"  # outage: close the connection without any response
    LOST_RESPONSE = "lost_response"  # apply the request, then drop the connection instead of answering
    STALE_READS = "stale_reads"  # a write shows in list reads only ``lag_ms`` later
    EXPIRE_TOKENS = "expire_tokens"  # revoke every token now (session expiry mid-run)


_TERMINAL = frozenset(
    {FaultKind.ERROR, FaultKind.RATE_LIMIT, FaultKind.HANG, FaultKind.REFUSE, FaultKind.LOST_RESPONSE}
)


class Action(StrEnum):
    PASS = "pass"
    RESPOND = "respond"  # answer ``status`` without calling the app
    HANG = "hang"
    REFUSE = "refuse"
    LOST_RESPONSE = "lost_response"


class FaultRule(BaseModel):
    """One switch of a fault plan. Only the parameters of its ``kind`` matter; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    count: int | None = Field(default=None, ge=1)
    skip: int = Field(default=0, ge=0)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    duration_s: float | None = Field(default=None, gt=0)
    # latency
    dist: Literal["fixed", "uniform", "normal"] = "fixed"
    ms: float = Field(default=0.0, ge=0)
    min_ms: float = Field(default=0.0, ge=0)
    max_ms: float = Field(default=0.0, ge=0)
    p50_ms: float = Field(default=0.0, ge=0)
    p99_ms: float = Field(default=0.0, ge=0)
    # error, rate_limit
    status: int | None = None
    retry_after_s: float = Field(default=1.0, ge=0)
    # hang, lost_response
    seconds: float = Field(default=30.0, ge=0)
    then: Literal["answer", "drop"] = "drop"
    # stale_reads
    lag_ms: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> FaultRule:
        if self.kind is FaultKind.ERROR and self.status is not None and not 500 <= self.status <= 599:
            raise ValueError("an error fault answers a 5xx status")
        if self.kind is FaultKind.RATE_LIMIT and self.status not in (None, 429):
            raise ValueError("a rate_limit fault answers 429")
        if self.kind is FaultKind.LATENCY and self.dist == "uniform" and self.max_ms < self.min_ms:
            raise ValueError("uniform latency needs min_ms <= max_ms")
        if self.kind is FaultKind.LATENCY and self.dist == "normal" and self.p99_ms < self.p50_ms:
            raise ValueError("normal latency needs p50_ms <= p99_ms")
        if self.kind is FaultKind.LOST_RESPONSE and self.then == "answer":
            raise ValueError("a lost response is never answered")
        return self

    def matches(self, info: RequestInfo) -> bool:
        if self.method is not None and info.method.upper() not in self.method.upper().split("|"):
            return False
        return self.path is None or info.path.startswith(self.path) or info.api_path.startswith(self.path)

    def sample_delay_s(self, rng: random.Random) -> float:
        if self.dist == "uniform":
            return rng.uniform(self.min_ms, self.max_ms) / 1000
        if self.dist == "normal":
            if self.p50_ms <= 0:
                return 0.0
            sigma = math.log(max(self.p99_ms, self.p50_ms) / self.p50_ms) / _Z99
            return self.p50_ms * math.exp(sigma * rng.gauss(0.0, 1.0)) / 1000
        return self.ms / 1000


@dataclass(frozen=True)
class RequestInfo:
    """What a rule can see of a request. ``api_path`` is ``path`` below the vendor's API base."""

    method: str
    path: str
    api_path: str = ""
    now: float = 0.0  # monotonic seconds, compared with the plan's ``installed_at``


@dataclass(frozen=True)
class Decision:
    """What the middleware does with one request."""

    action: Action = Action.PASS
    delay_s: float = 0.0
    status: int | None = None
    retry_after_s: float | None = None
    hang_s: float = 0.0
    drop_after_hang: bool = False
    read_lag_s: float = 0.0
    expire_tokens: bool = False
    fired: tuple[FaultKind, ...] = ()

    @property
    def runs_app(self) -> bool:
        return self.action in (Action.PASS, Action.LOST_RESPONSE) or (
            self.action is Action.HANG and not self.drop_after_hang
        )


@dataclass
class FaultPlan:
    """Rules plus their counters. :meth:`decide` is deterministic given the rng and the request sequence."""

    rules: tuple[FaultRule, ...] = ()
    installed_at: float = 0.0
    _matched: list[int] = field(default_factory=list, repr=False)
    _fired: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._matched = [0] * len(self.rules)
        self._fired = [0] * len(self.rules)

    def decide(self, info: RequestInfo, rng: random.Random) -> Decision:
        fired: list[tuple[int, FaultRule]] = []
        terminal: FaultRule | None = None
        for index, rule in enumerate(self.rules):
            if terminal is not None and rule.kind in _TERMINAL:
                continue
            if self._fires(index, rule, info, rng):
                fired.append((index, rule))
                if rule.kind in _TERMINAL:
                    terminal = rule
        return _combine([rule for _, rule in fired], terminal, rng)

    def _fires(self, index: int, rule: FaultRule, info: RequestInfo, rng: random.Random) -> bool:
        if not self._live(index, rule, info.now) or not rule.matches(info):
            return False
        self._matched[index] += 1
        if self._matched[index] <= rule.skip:
            return False
        if rule.probability < 1.0 and rng.random() >= rule.probability:
            return False
        self._fired[index] += 1
        return True

    def _live(self, index: int, rule: FaultRule, now: float) -> bool:
        if rule.count is not None and self._fired[index] >= rule.count:
            return False
        return rule.duration_s is None or now - self.installed_at < rule.duration_s

    def describe(self, now: float) -> list[dict[str, Any]]:
        """The rules with their counters, as the admin API shows them."""
        return [
            {
                **rule.model_dump(exclude_defaults=True, mode="json"),
                "kind": rule.kind.value,
                "matched": self._matched[i],
                "fired": self._fired[i],
                "live": self._live(i, rule, now),
            }
            for i, rule in enumerate(self.rules)
        ]


def _combine(fired: Sequence[FaultRule], terminal: FaultRule | None, rng: random.Random) -> Decision:
    delay = sum(r.sample_delay_s(rng) for r in fired if r.kind is FaultKind.LATENCY)
    lag = max((r.lag_ms / 1000 for r in fired if r.kind is FaultKind.STALE_READS), default=0.0)
    common: dict[str, Any] = {
        "delay_s": delay,
        "read_lag_s": lag,
        "expire_tokens": any(r.kind is FaultKind.EXPIRE_TOKENS for r in fired),
        "fired": tuple(r.kind for r in fired),
    }
    if terminal is None:
        return Decision(**common)
    if terminal.kind is FaultKind.ERROR:
        return Decision(action=Action.RESPOND, status=terminal.status or 503, **common)
    if terminal.kind is FaultKind.RATE_LIMIT:
        return Decision(action=Action.RESPOND, status=429, retry_after_s=terminal.retry_after_s, **common)
    if terminal.kind is FaultKind.HANG:
        drop = terminal.then == "drop"
        return Decision(action=Action.HANG, hang_s=terminal.seconds, drop_after_hang=drop, **common)
    if terminal.kind is FaultKind.REFUSE:
        return Decision(action=Action.REFUSE, **common)
    return Decision(action=Action.LOST_RESPONSE, hang_s=_lost_hold(terminal), **common)


def _lost_hold(rule: FaultRule) -> float:
    # Dropped at once unless ``seconds`` is given: held that long first, a client with a shorter timeout
    # sees a timeout rather than a reset (both leave it unable to know that the write was applied).
    return rule.seconds if "seconds" in rule.model_fields_set else 0.0


class FaultEngine:
    """The live plan of one sandbox: thread-safe, replaceable at run time, seeded."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._seed = seed
        self._rng = random.Random(seed)
        self._plan = FaultPlan(tuple(rules), installed_at=clock())

    def decide(self, method: str, path: str, api_path: str = "") -> Decision:
        with self._lock:
            return self._plan.decide(RequestInfo(method, path, api_path, self._clock()), self._rng)

    def replace(self, rules: Iterable[FaultRule], *, seed: int | None = None) -> None:
        """Install a new plan; its counters and duration windows start now, its rng from the seed."""
        with self._lock:
            self._seed = self._seed if seed is None else seed
            self._rng = random.Random(self._seed)
            self._plan = FaultPlan(tuple(rules), installed_at=self._clock())

    def add(self, rule: FaultRule) -> None:
        """Append one rule, keeping the counters of the others (its own window starts now)."""
        with self._lock:
            now = self._clock()
            old = self._plan
            shift = now - old.installed_at
            if rule.duration_s is not None:
                rule = rule.model_copy(update={"duration_s": rule.duration_s + shift})
            plan = FaultPlan((*old.rules, rule), installed_at=old.installed_at)
            plan._matched[:-1], plan._fired[:-1] = old._matched, old._fired
            self._plan = plan

    def clear(self) -> None:
        self.replace(())

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": self._plan.describe(self._clock())}


def parse_fault_spec(spec: str) -> FaultRule:
    """A rule from its command-line form: ``KIND[,key=value...]``.

    Examples: ``latency,dist=normal,p50_ms=40,p99_ms=400``; ``error,status=503,count=3``;
    ``rate_limit,retry_after_s=2,probability=0.2``; ``hang,seconds=10,then=answer,method=POST``;
    ``lost_response,method=POST,path=/appointments,count=1``; ``stale_reads,lag_ms=1500``;
    ``expire_tokens,skip=20,count=1``; ``refuse,duration_s=5``.
    """
    kind, *pairs = [part.strip() for part in spec.split(",") if part.strip()]
    values: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"fault parameter {key!r} needs a value (key=value)")
        values[key.strip()] = value.strip()
    return FaultRule.model_validate(values)


def rules_from_json(items: object) -> list[FaultRule]:
    """Rules from the admin API's JSON (a list of objects with the fields of :class:`FaultRule`)."""
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ValueError("rules must be a list of objects")
    return [FaultRule.model_validate(item) for item in items]
