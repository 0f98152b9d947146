"""The event contract with the outside world: Avro schemas, their release history, and compatibility checks.

``schemas/pms/`` holds the current schemas, ``schemas/history/`` every released one; see
:mod:`schemas.catalog` for the catalog and :mod:`schemas.compat` for the FULL_TRANSITIVE check.
"""

from schemas.catalog import (
    NAMESPACE,
    SchemaCatalog,
    WriterSchema,
    default_catalog,
    load_current,
    load_history,
)
from schemas.compat import check_backward, check_full

__all__ = [
    "NAMESPACE",
    "SchemaCatalog",
    "WriterSchema",
    "check_backward",
    "check_full",
    "default_catalog",
    "load_current",
    "load_history",
]
