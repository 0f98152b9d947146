#!/usr/bin/env bash
# The project's one test command (README, CI): lint, format check, types, then the whole test suite.
# Extra arguments go to pytest, e.g. `bash deploy/test.sh -m "not integration"` or `-k topics`.
# Integration tests need a Kafka: KAFKA_BOOTSTRAP_SERVERS, else Docker, else a local broker that the
# fixtures start by themselves (Java 17+ and mvn on PATH; jars are cached under ~/.cache/pms-relay/kafka).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -e ".[dev,test]" --config-settings editable_mode=compat

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
