#!/usr/bin/env bash
# The README's run command: the whole system on this machine, driven through a receptionist's scenario.
#   bash deploy/run.sh                  # ~1 minute: Kafka, both sandboxes, Zipkin, a worker, the dashboard, the scenario
#   bash deploy/run.sh --keep-running   # leave it all up until Ctrl-C: watch the dashboard, try `pms-relay send`
#   bash deploy/run.sh --no-faults --workers 2
# Needs Python 3.11+, Java 17+ and Maven on PATH (Kafka's jars and Zipkin's are fetched once into ~/.cache/pms-relay).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -e ".[dev]" --config-settings editable_mode=compat

exec .venv/bin/pms-relay demo "$@"
