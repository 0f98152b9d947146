"""The composite observer: contexts nest in order, quiet ones cost nothing, a failed enter unwinds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from streams.observer import NO_OBSERVER, QUIET, Observers


class _Recording:
    """Wraps handling and sending in a context that records when it is entered and left."""

    def __init__(self, name: str, log: list[str], *, fail_on_enter: bool = False) -> None:
        self._name, self._log, self._fail = name, log, fail_on_enter

    @contextmanager
    def _context(self, what: str) -> Iterator[None]:
        if self._fail:
            raise RuntimeError("cannot enter")
        self._log.append(f"{self._name} enters {what}")
        try:
            yield
        finally:
            self._log.append(f"{self._name} leaves {what}")

    def handling(self, received: object) -> AbstractContextManager[None]:
        return self._context("handling")

    def sending(self, topic: str, received: object) -> AbstractContextManager[None]:
        return self._context(f"sending {topic}")


def _received() -> Any:
    return object()  # the composite passes it on untouched


def test_contexts_nest_in_the_order_of_the_observers() -> None:
    log: list[str] = []
    observers = Observers([_Recording("a", log), NO_OBSERVER, _Recording("b", log)])
    with observers.handling(_received()):
        log.append("work")
    with observers.sending("results", None):
        pass
    assert log == [
        "a enters handling", "b enters handling", "work", "b leaves handling", "a leaves handling",
        "a enters sending results", "b enters sending results",
        "b leaves sending results", "a leaves sending results",
    ]  # fmt: skip


@pytest.mark.parametrize("count", [0, 1, 3])
def test_quiet_observers_are_left_out(count: int) -> None:
    observers = Observers([NO_OBSERVER] * count)
    assert observers.handling(_received()) is QUIET
    assert observers.sending("results", None) is QUIET


def test_one_live_context_is_used_as_it_is() -> None:
    log: list[str] = []
    only = _Recording("a", log)
    observers = Observers([NO_OBSERVER, only, NO_OBSERVER])
    with observers.handling(_received()):
        pass
    assert log == ["a enters handling", "a leaves handling"]


def test_a_context_that_fails_to_enter_leaves_the_ones_entered_before_it() -> None:
    log: list[str] = []
    observers = Observers([_Recording("a", log), _Recording("b", log, fail_on_enter=True)])
    with pytest.raises(RuntimeError, match="cannot enter"), observers.handling(_received()):
        log.append("never")
    assert log == ["a enters handling", "a leaves handling"]


def test_an_error_inside_reaches_every_context_and_the_caller() -> None:
    log: list[str] = []
    observers = Observers([_Recording("a", log), _Recording("b", log)])
    with pytest.raises(ValueError, match="boom"), observers.handling(_received()):
        raise ValueError("boom")
    assert log == ["a enters handling", "b enters handling", "b leaves handling", "a leaves handling"]
