"""Alerts that reach a person, once, and say what to do (``pms-relay alerts``; README "Alerts").

Read it in this order: :mod:`settings` (the YAML file), :mod:`conditions` (which alerts are active: pure rules
over the dashboard's view of the fleet), :mod:`notifier` (firing/resolved, dedup, grouping, repeats, silences),
:mod:`notices` (what was sent, as records of ``pms.alert-notices``), :mod:`payloads` (each sink's body, pure),
:mod:`delivery` (queues, HTTP, retries), :mod:`leader` (which instance sends), :mod:`service` (the loop).
"""

from ops.alerts.service import ALERTS_READY, AlertService
from ops.alerts.settings import AlertSettings, AlertSettingsError, load_settings

__all__ = ["ALERTS_READY", "AlertService", "AlertSettings", "AlertSettingsError", "load_settings"]
