"""The practice registry: which PMS serves each practice, how to reach it, and how hard to push it.

A YAML file, validated at start-up; every error names the practice and the field::

    defaults:                       # optional, per PMS; a practice may override each key
      dentrix:   {rate_per_second: 10, max_concurrent: 4, circuit: {fail_max: 5, reset_timeout_seconds: 30}}
      eaglesoft: {rate_per_second: 5,  max_concurrent: 2}
    practices:
      smile-nyc:
        pms: dentrix
        time_zone: America/New_York
        connection:                 # the vendor's own settings (adapters/<vendor>/config.py)
          base_url: https://api.example
          organization_id: 0123456789abcdef01234567
          client_id: {env: SMILE_NYC_CLIENT_ID}
          client_secret: {file: /run/secrets/smile-nyc}

Credentials are given **by reference** only: a secret field of the vendor's config (a ``SecretStr``) must be
``{env: NAME}`` or ``{file: PATH}``; an inline value is an error, so a secret never sits in the file. Any other
connection field may use a reference too. Secrets stay ``SecretStr`` and print as ``**********``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from adapters.domain import PmsKind
from adapters.errors import ConfigurationError
from adapters.vendors import VendorName, connection_model, vendor

__all__ = ["CircuitSettings", "Practice", "Registry", "RegistryError", "load_registry", "parse_registry"]


class RegistryError(ConfigurationError):
    """The registry file is wrong; the message names the practice and the field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CircuitSettings(_Frozen):
    fail_max: int = Field(default=5, ge=1, description="Consecutive retryable failures that open the circuit")
    reset_timeout_seconds: float = Field(default=30.0, gt=0, description="Open time before one trial call")


class _PracticeFile(_Frozen):
    pms: VendorName
    time_zone: str
    rate_per_second: float | None = Field(default=None, gt=0)
    max_concurrent: int | None = Field(default=None, ge=1)
    circuit: CircuitSettings | None = None
    connection: dict[str, Any] = Field(default_factory=dict)

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name") from None
        return value


class _Defaults(_Frozen):
    rate_per_second: float | None = Field(default=None, gt=0)
    max_concurrent: int | None = Field(default=None, ge=1)
    circuit: CircuitSettings | None = None


class _RegistryFile(_Frozen):
    defaults: dict[VendorName, _Defaults] = Field(default_factory=dict)
    practices: dict[str, _PracticeFile]


class Practice(_Frozen):
    """One practice, resolved: defaults applied, secrets read, vendor settings validated."""

    practice_id: str
    pms: PmsKind
    time_zone: str
    rate_per_second: float
    max_concurrent: int
    circuit: CircuitSettings
    connection: BaseModel  # the frozen config model of its vendor (adapters/<vendor>/config.py)


class Registry(_Frozen):
    practices: dict[str, Practice]

    def get(self, practice_id: str) -> Practice | None:
        return self.practices.get(practice_id)

    def __len__(self) -> int:
        return len(self.practices)


def load_registry(path: Path, *, environ: Mapping[str, str] | None = None) -> Registry:
    """Read and validate the registry at ``path``; raise :class:`RegistryError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read practice registry {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RegistryError(f"{path}: not valid YAML{where}") from None
    return parse_registry(raw, environ=os.environ if environ is None else environ, base_dir=path.parent)


def parse_registry(raw: object, *, environ: Mapping[str, str], base_dir: Path) -> Registry:
    """Validate an already-parsed registry document (pure apart from reading secret files)."""
    if not isinstance(raw, dict):
        raise RegistryError("the practice registry must be a mapping with a 'practices' key")
    try:
        document = _RegistryFile.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(_describe(exc, prefix="")) from None
    practices = {
        practice_id: _resolve(practice_id, entry, document.defaults, environ, base_dir)
        for practice_id, entry in document.practices.items()
    }
    return Registry(practices=practices)


def _resolve(
    practice_id: str,
    entry: _PracticeFile,
    defaults: Mapping[str, _Defaults],
    environ: Mapping[str, str],
    base_dir: Path,
) -> Practice:
    kind = vendor(entry.pms.upper()).kind
    pms_defaults = defaults.get(entry.pms, _Defaults())
    model = connection_model(kind)
    connection = {
        name: _resolve_value(practice_id, name, value, model, environ, base_dir)
        for name, value in entry.connection.items()
    }
    # Practice-level settings win over the file's per-PMS defaults, which win over the vendor's own defaults.
    inherited = {
        "time_zone": entry.time_zone,
        "rate_per_second": entry.rate_per_second or pms_defaults.rate_per_second,
        "max_concurrent": entry.max_concurrent or pms_defaults.max_concurrent,
    }
    for name, value in inherited.items():
        if value is not None and name in model.model_fields:
            connection.setdefault(name, value)
    try:
        resolved = model.model_validate(connection)
    except ValidationError as exc:
        raise RegistryError(_describe(exc, prefix=f"practices.{practice_id}.connection.")) from None
    return Practice(
        practice_id=practice_id,
        pms=kind,
        time_zone=entry.time_zone,
        rate_per_second=getattr(resolved, "rate_per_second", 0.0),
        max_concurrent=getattr(resolved, "max_concurrent", 1),
        circuit=entry.circuit or pms_defaults.circuit or CircuitSettings(),
        connection=resolved,
    )


def _is_secret(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and field.annotation is SecretStr


def _resolve_value(
    practice_id: str,
    name: str,
    value: object,
    model: type[BaseModel],
    environ: Mapping[str, str],
    base_dir: Path,
) -> object:
    where = f"practices.{practice_id}.connection.{name}"
    reference = value if isinstance(value, dict) and set(value) in ({"env"}, {"file"}) else None
    if reference is None:
        if _is_secret(model, name):
            raise RegistryError(
                f"{where}: a secret must be given by reference ({{env: NAME}} or {{file: PATH}})"
            )
        return value
    if "env" in reference:
        variable = str(reference["env"])
        if variable not in environ:
            raise RegistryError(f"{where}: environment variable {variable} is not set")
        return environ[variable]
    secret_path = Path(str(reference["file"])).expanduser()
    secret_path = secret_path if secret_path.is_absolute() else base_dir / secret_path
    try:
        return secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RegistryError(f"{where}: cannot read secret file {secret_path}: {exc.strerror}") from None


def _describe(exc: ValidationError, *, prefix: str) -> str:
    # Only locations and pydantic's own messages: input values may be secrets.
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = prefix + ".".join(str(part) for part in error["loc"])
        problems.append(f"{location}: {error['msg']}")
    return "; ".join(problems)
