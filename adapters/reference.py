"""The reference marker: how a write carries its command id into a free-text field of the PMS record.

Neither vendor has an integrator-reference field, but notes survive every edit made in the practice, so a
write appends ``[pms-relay:ref=<command id>]`` to the record's notes and ``find_by_reference`` looks for it.
Only the latest write's marker is kept: a record is found by the write that created or last changed it.
"""

from __future__ import annotations

import re

__all__ = ["split_notes", "tag_notes"]

_MARKER = re.compile(r"\s*\[pms-relay:ref=([^\]\s]+)\]\s*$")


def tag_notes(notes: str | None, reference: str) -> str:
    """``notes`` with any previous marker replaced by the marker for ``reference``."""
    if not reference or any(c in reference for c in "[] ,"):
        raise ValueError("a reference must be non-empty, without spaces, commas or brackets")
    text, _ = split_notes(notes)
    marker = f"[pms-relay:ref={reference}]"
    return f"{text} {marker}" if text else marker


def split_notes(text: str | None) -> tuple[str | None, str | None]:
    """``(notes without the marker, reference)``; either may be None."""
    if not text:
        return None, None
    match = _MARKER.search(text)
    if match is None:
        return text, None
    rest = text[: match.start()]
    return (rest or None), match.group(1)
