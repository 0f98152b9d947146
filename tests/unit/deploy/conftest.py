"""The deployment artefacts' checks run the real tools (hadolint, check-jsonschema, kubernetes-validate,
yamllint) on the files as committed and on deliberately broken copies of them: a check that cannot fail
proves nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

BrokenCopy = Callable[[Path, str, str], Path]


@pytest.fixture
def broken_copy(tmp_path: Path) -> BrokenCopy:
    """``broken_copy(original, old, new)``: a copy of ``original`` with ``old`` replaced by ``new`` (which
    must occur), under the same file name in a fresh directory."""

    def make(original: Path, old: str, new: str) -> Path:
        text = original.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {original}"
        directory = tmp_path / f"broken-{len(list(tmp_path.iterdir()))}"
        directory.mkdir()
        copy = directory / original.name
        copy.write_text(text.replace(old, new, 1), encoding="utf-8")
        return copy

    return make
