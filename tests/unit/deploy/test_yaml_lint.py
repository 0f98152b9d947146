"""yamllint passes every YAML file of the deployment artefacts, with deploy/yamllint.yaml, and rejects
broken copies (the mistakes that make a manifest mean something else than it reads)."""

from __future__ import annotations

import pytest

from tests.unit.deploy.conftest import BrokenCopy
from tests.unit.deploy.tools import DEPLOY, tool

CONFIG = DEPLOY / "yamllint.yaml"
LINTED = (DEPLOY / "compose", DEPLOY / "k8s", CONFIG)


def test_yamllint_passes_the_artefacts() -> None:
    done = tool("yamllint", "--strict", "-c", CONFIG, *LINTED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_artefact_is_yaml_that_yamllint_sees() -> None:
    done = tool("yamllint", "--list-files", "-c", CONFIG, *LINTED)
    listed = set(done.stdout.split())
    expected = {*DEPLOY.glob("k8s/*.yaml"), *DEPLOY.glob("compose/*.y*ml")}
    assert {str(path) for path in expected} <= listed
    assert len(expected) >= 9


@pytest.mark.parametrize(
    ("name", "old", "new", "rule"),
    [
        # A second key of the same name silently replaces the first.
        (
            "k8s/pdb.yaml",
            "  maxUnavailable: 1\n",
            "  maxUnavailable: 1\n  maxUnavailable: 3\n",
            "key-duplicates",
        ),
        (
            "compose/compose.yaml",
            "  stop_grace_period: 75s\n",
            "  stop_grace_period: 75s   \n",
            "trailing-spaces",
        ),
        ("k8s/service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n\tclusterIP: None\n", "syntax"),
        (
            "k8s/statefulset.yaml",
            "      automountServiceAccountToken: false",
            "      automountServiceAccountToken: no",
            "truthy",
        ),
        (
            "compose/compose.yaml",
            "      aliases: [worker]\n",
            "       aliases: [worker]\n",
            "indentation",
        ),
    ],
    ids=["duplicate-key", "trailing-space", "tab", "yes-no-truthy", "bad-indent"],
)
def test_yamllint_rejects_a_broken_copy(
    broken_copy: BrokenCopy, name: str, old: str, new: str, rule: str
) -> None:
    done = tool("yamllint", "--strict", "-f", "parsable", "-c", CONFIG, broken_copy(DEPLOY / name, old, new))
    assert done.returncode != 0
    assert f"({rule})" in done.stdout or (rule == "syntax" and "syntax error" in done.stdout), done.stdout
