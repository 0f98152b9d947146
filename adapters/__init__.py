"""PMS adapters: the contract (:mod:`adapters.contract`), the error tree (:mod:`adapters.errors`), the
normalized domain (:mod:`adapters.domain`), and one folder per vendor."""

from adapters.contract import PMSInterface
from adapters.errors import ErrorCode, PMSError

__all__ = ["ErrorCode", "PMSError", "PMSInterface"]
