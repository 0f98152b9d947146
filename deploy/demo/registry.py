"""The demo's practice registry, built from the sandboxes' seed summaries (``GET /_admin/summary``). Pure.

Secrets never sit in the file: each secret field is an ``{env: NAME}`` reference, and the values go to the
worker processes' environment instead (see :mod:`streams.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DX_PRACTICE", "ES_PRACTICE", "OD_PRACTICE", "DemoRegistry", "demo_registry"]

DX_PRACTICE = "dx-demo"
ES_PRACTICE = "es-demo"
OD_PRACTICE = "od-demo"

# dx-demo tolerates many failures so that one command can run through every retry tier to the dead letters
# without opening its circuit; es-demo opens after three, so a short burst of 5xx shows the breaker.
_DX_CIRCUIT = {"fail_max": 10, "reset_timeout_seconds": 5}
_ES_CIRCUIT = {"fail_max": 3, "reset_timeout_seconds": 5}


@dataclass(frozen=True)
class DemoRegistry:
    document: dict[str, Any]  # the YAML document (secrets as {env:} references)
    secrets: dict[str, str]  # env var -> value, for the worker processes only


def demo_registry(
    dentrix_url: str,
    dentrix: dict[str, Any],
    eaglesoft_url: str,
    eaglesoft: dict[str, Any],
    opendental_url: str | None = None,
    opendental: dict[str, Any] | None = None,
) -> DemoRegistry:
    """One Dentrix practice (the first organization of the first seeded client), one Eaglesoft practice
    (the first seeded practice) and, given its sandbox, one Open Dental practice (the office with clinics)."""
    client = dentrix["clients"][0]
    org_id = client["organizationIds"][0]
    org = next(o for o in dentrix["organizations"] if o["id"] == org_id)
    es_practice = eaglesoft["practices"][0]
    credentials = eaglesoft["credentials"]
    secrets = {
        "PMS_RELAY_DEMO_DX_CLIENT_SECRET": str(client["clientSecret"]),
        "PMS_RELAY_DEMO_ES_INTEGRATION_KEY": str(credentials["IntegrationKey"]),
        "PMS_RELAY_DEMO_ES_PASSWORD": str(credentials["Password"]),
    }
    dx = {
        "pms": "dentrix",
        "time_zone": org["locations"][0]["timeZone"],
        "circuit": _DX_CIRCUIT,
        "connection": {
            "base_url": dentrix_url,
            "organization_id": org_id,
            "client_id": client["clientId"],
            "client_secret": {"env": "PMS_RELAY_DEMO_DX_CLIENT_SECRET"},
        },
    }
    es = {
        "pms": "eaglesoft",
        "time_zone": es_practice["timeZone"],
        "circuit": _ES_CIRCUIT,
        "connection": {
            "base_url": eaglesoft_url,
            "practice_id": str(es_practice["PracticeId"]),
            "integration_key": {"env": "PMS_RELAY_DEMO_ES_INTEGRATION_KEY"},
            "user_id": credentials["UserId"],
            "password": {"env": "PMS_RELAY_DEMO_ES_PASSWORD"},
            "server_time_zone": eaglesoft["serverZone"],
            "location_time_zones": {str(p["PracticeId"]): p["timeZone"] for p in eaglesoft["practices"]},
        },
    }
    practices = {DX_PRACTICE: dx, ES_PRACTICE: es}
    if opendental_url is not None and opendental is not None:
        practices[OD_PRACTICE] = _opendental(opendental_url, opendental, secrets)
    return DemoRegistry({"practices": practices}, secrets)


def _opendental(url: str, summary: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """The seeded office with clinics, at the real API's pace (its default: one request a second)."""
    office = summary["offices"][0]
    secrets["PMS_RELAY_DEMO_OD_DEVELOPER_KEY"] = str(summary["developerKey"])
    secrets["PMS_RELAY_DEMO_OD_CUSTOMER_KEY"] = str(office["customerKey"])
    return {
        "pms": "opendental",
        "time_zone": office["timeZone"],
        "connection": {
            "base_url": url,
            "developer_key": {"env": "PMS_RELAY_DEMO_OD_DEVELOPER_KEY"},
            "customer_key": {"env": "PMS_RELAY_DEMO_OD_CUSTOMER_KEY"},
            "clinic_time_zones": {str(c["ClinicNum"]): c["timeZone"] for c in office["clinics"]},
            "office_name": office["name"],
        },
    }
