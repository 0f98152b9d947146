"""A faithful fake of the Open Dental REST API, with switchable, seeded faults.

Run it: ``pms-relay sandbox opendental --port 8703 --seed 42 [--anchor 2026-03-02] [--rate 1] [--fault ...]``;
in tests: ``OpenDentalSandbox(SandboxConfig(...)).run_in_thread()`` (a :class:`RunningServer` with ``base_url``).
``GET /_admin/summary`` shows the keys, the offices, their clinics (with the zone each is meant to be in) and
the planted records. The adapter and this sandbox follow this docstring; keep both true to it. Facts come from
Open Dental's public API documentation (``../shared/reference/pms-dialects.md``); **[ours]** marks a choice
where the record is silent.

Dialect (base ``/api/v1``)
--------------------------
- **Keys.** Every request carries ``Authorization: ODFHIR {DeveloperKey}/{CustomerKey}``. The customer key
  names the office: each seeded office is its own database, ids start at 1 in each. A missing or malformed
  header, an unknown developer key, or a customer key of no office -> 401 (plain text). **[ours, after the API
  Service's documented behaviour]** a key pair is validated with "HQ" once and trusted for six hours
  (``credential_ttl_s``); the check is logged as ``POST /hq/credentials`` (200 or 401).
- **Pace.** About one request per second per customer key (``--rate``; 0 turns it off): faster requests are
  answered 429 ``Too many requests...`` with ``Retry-After`` (whole seconds). **[ours]** the limit is a
  generic cell rate algorithm with a tolerance of a tenth of the interval (at least 50 ms).
- **Gateway.** A request not answered within 60 s (``gateway_timeout_s``; e.g. a ``hang`` fault) is answered
  504 ``The request timed out after 60 seconds.``
- **Resources** are lowercase plural, fields PascalCase (a few derived fields lowercase: ``confirmed``,
  ``provAbbr``, ``serverDateTime``). Ids are integers, 0 meaning none. Booleans are the strings ``"true"`` and
  ``"false"`` (a JSON boolean is refused). Dates ``yyyy-MM-dd``, times office-local and naive
  ``yyyy-MM-dd HH:mm:ss``; ``0001-01-01`` (``0001-01-01 00:00:00``) means none. A time in a DST gap is stored
  and served as it is.
- **Lists** answer a bare JSON array in id order. ``Limit`` (1..100, default 100) and ``Offset`` (from 0);
  **[ours]** a ``Limit`` over 100 is refused with 400, as is any parameter the list does not know and any
  malformed value (the explanation names the parameter).
- **Errors** are the status and a plain-text explanation: 400 (e.g. ``PatNum is invalid.``,
  ``AptDateTime is not a valid date and time. Use the format yyyy-MM-dd HH:mm:ss.``), 401, 404
  (``Appointment not found.``), 429, 5xx. Explanations name fields, never values.
- **Routes match the path as sent**: ``/appointments/12%2FConfirm`` is the (unknown) appointment
  ``12/Confirm``, ``/patients/%2E%2E`` the patient ``..`` (:mod:`adapters.sandbox.routing`).

Reads: ``GET /clinics`` (``ClinicNum, Description, Abbr, Address, Address2, City, State, Zip, Phone,
IsHidden``; empty for an office that does not use clinics), ``GET /operatories`` (``OperatoryNum, OpName,
Abbrev, ItemOrder, IsHidden, ProvDentist, ProvHygienist, IsHygiene, ClinicNum, ...``; filter ``ClinicNum``),
``GET /providers``, ``GET /appointmenttypes`` (``AppointmentTypeNum, AppointmentTypeName, Pattern, ...``),
``GET /preferences`` (``[{"PrefName", "ValueString"}]``, filter ``PrefName``: ``ProgramVersion``,
``PracticeTitle``, and ``ApptEConfirmStatusSent|Accepted|Declined|SendFailed``, the definitions the
confirmation values name).

Patients: ``GET /patients`` (filters ``LName``, ``FName``: case-insensitive prefix; ``Birthdate``;
``Phone``: digits within any phone; ``Email``; ``PatStatus``; ``ClinicNum``), ``GET /patients/Simple``
(``LName, FName, Birthdate, PatStatus, ClinicNum, DateTStamp``: changed at or after), ``GET /patients/{PatNum}``,
``POST /patients`` (``LName``, ``FName`` required) -> 201 with the patient and ``Location``,
``PUT /patients/{PatNum}`` -> 200 with the patient **[ours: the record says "200 OK"]**. Fields ``PatNum, LName,
FName, MiddleI, Preferred, PatStatus`` (Patient NonPatient Inactive Archived Deceased Prospective), ``Gender``
(Male Female Unknown Other), ``Birthdate``, ``Address, Address2, City, State, Zip, HmPhone, WkPhone,
WirelessPhone, Email, ChartNumber, ClinicNum, PriProv, TxtMsgOk, AddrNote`` (**[ours]** the free-text note where
an integrator keeps its reference), ``DateTStamp``. Patients are never deleted.

Appointments: ``GET /appointments`` (filters ``PatNum, AptStatus, Op, ClinicNum, DateTStamp``, and the day of
``AptDateTime``: ``date``, or ``dateStart``/``dateEnd`` inclusive), ``GET /appointments/{AptNum}``,
``POST /appointments`` (``PatNum``, ``Op``, ``AptDateTime`` required; ``Pattern`` default ``//XXXX//``;
``AptStatus`` default Scheduled; ``Confirmed`` default the first confirmation definition; ``ClinicNum`` the
operatory's) -> 201 with the appointment and ``Location``, ``PUT /appointments/{AptNum}`` -> 200. **PUT leaves
omitted fields alone.** Fields ``AptNum, PatNum, AptStatus`` (Scheduled Complete UnschedList ASAP Broken Planned
PtNote PtNoteCompleted), ``Pattern`` (one character, ``X`` or ``/``, per five minutes: the length), ``Confirmed``
(a definition number) and ``confirmed`` (its name), ``Op, Note, ProvNum, provAbbr, ProvHyg, AptDateTime,
ClinicNum, IsHygiene, IsNewPatient, Priority, AppointmentTypeNum, DateTimeArrived, DateTimeSeated,
DateTimeDismissed, DateTStamp, ...``. References must exist (400 ``PatNum is invalid.``); booking into a hidden
operatory is 400 **[ours]**; AptStatus cannot be set to Broken (use Break). **Overlapping appointments are
accepted** (no double-booking guard **[ours]**: the adapter checks).
``PUT /appointments/{AptNum}/Confirm`` ``{"confirmVal": "None"|"Sent"|"Confirmed"|"Not Accepted"|"Failed"}`` or
``{"defNum": n}`` (exactly one); ``PUT /appointments/{AptNum}/Break`` ``{"breakType": "Missed"|"Cancelled"}``
(a Scheduled or ASAP appointment becomes Broken) -> 200 with the appointment **[ours]**.

Faults (``adapters.sandbox.faults``, the same switches as every sandbox)
-----------------------------------------------------------------------
``latency``, ``error`` (5xx, plain text), ``rate_limit`` (429 + ``Retry-After``, on top of the real throttle),
``hang`` (past ``gateway_timeout_s`` it ends in a 504), ``refuse`` (and ``POST /_admin/outage``),
``lost_response`` (applied, answer dropped), ``stale_reads`` (``lag_ms``: a write shows in LIST reads only
that long after it was applied; ``GET /{id}`` sees it at once), ``expire_tokens`` (ends every key
validation: the next request is checked again). Paths match the full path or the path below ``/api/v1``
(``path=/appointments``). Eaglesoft's ``write_failed``/``write_stuck`` have no counterpart: Open Dental writes
are synchronous.

Admin API (no auth; never faulted)
----------------------------------
``GET /_admin/summary`` (seed, anchor, keys, pace, offices with clinics, operatories, providers, appointment
types, counts and planted ids), ``GET|POST|DELETE /_admin/faults``, ``POST /_admin/outage``,
``GET|DELETE /_admin/requests`` (paths as sent, percent-encoded, without query), ``POST /_admin/reset``
(``{"seed", "anchor"}`` optional), ``POST /_admin/tokens/revoke`` (alias ``/_admin/credentials/revoke``) ->
``{"revoked": n}``, ``GET /_admin/count?reference=cmd-1`` -> ``{"reference", "count", "records": [{"office",
"resource", "id"}]}`` (rows whose ``AddrNote``/``Note`` hold the reference as a whole token),
``GET /_admin/records/{resource}/{id}?office=1`` -> ``{"office", "record"}`` (current version, read lags
ignored).

Seed: see :mod:`.seed` (an office with clinics in New York, Chicago and Phoenix, and one without clinics in
Denver; dates relative to the anchor, today unless ``--anchor`` says otherwise).
"""

from __future__ import annotations

from adapters.opendental.sandbox.app import API_BASE, OpenDentalSandbox
from adapters.opendental.sandbox.config import SandboxConfig

__all__ = ["API_BASE", "OpenDentalSandbox", "SandboxConfig"]
