"""Release the current schemas: ``python -m schemas.release`` copies them, standalone, to history/v<N+1>.

Run it when a schema change ships (after ``tests/unit/schemas/test_schema_compat.py`` passes): producers in the field
will write the new fingerprint, and every later reader must keep resolving it.
"""

from __future__ import annotations

import json
import sys

from schemas.catalog import HISTORY_DIR, load_current, load_history


def release() -> int:
    history = load_history()
    current = load_current()
    if history and history[max(history)] == current:
        print(f"current schemas are already release v{max(history)}")
        return 0
    version = max(history, default=0) + 1
    target = HISTORY_DIR / f"v{version}"
    target.mkdir(parents=True)
    for short, definition in current.items():
        (target / f"{short}.avsc").write_text(json.dumps(definition, indent=2) + "\n")
    print(f"released v{version} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(release())
