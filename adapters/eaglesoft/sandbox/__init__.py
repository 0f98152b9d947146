"""A faithful fake of Patterson's on-prem Eaglesoft API, with switchable, seeded faults.

Run it: ``pms-relay sandbox eaglesoft --port 8702 --seed 42 --version 21.20 --fault error,status=503,count=2``;
in tests: ``EaglesoftSandbox(SandboxConfig(...)).run_in_thread()`` (a :class:`RunningServer` with
``base_url``). ``GET /_admin/summary`` shows the credentials, practices (with the zone each is meant to be in)
and the planted records. The adapter and this sandbox follow this docstring; keep both true to it.

Dialect (base ``/api/v1``)
--------------------------
Every time is office-local and NAIVE, ``YYYY-MM-DDTHH:MM:SS`` (no offset, no ``Z``); dates ``YYYY-MM-DD``.
The PMS knows no time zone: which zone a practice is in comes from the integrator's configuration (the seed
summary says which zone each seeded practice is meant to be in). Booleans are ``"Y"``/``"N"``. Ids: ``PatientId``,
``AppointmentId``, ``PracticeId``, ``ChairNum`` are integers; ``ProviderId`` is a string code (``DDS1``);
``Appointment.PatientId`` is a STRING (``"1042"``; ``null`` on a schedule block); ``WriteId`` is a string.

- ``POST /session`` JSON ``{"IntegrationKey", "UserId", "Password"}`` -> 200 ``{"SessionToken", "ExpiresAt"}``
  (``ExpiresAt`` naive, in the server's zone, ``server_zone``, default America/New_York; lifetime
  ``session_ttl_s``, default 3600). Bad credentials -> 401 ``InvalidCredentials``; a body without the three
  strings -> 400 ``ValidationFailed``.
- Every other call except ``GET /system`` carries ``X-Session-Token`` (missing, unknown, expired or revoked ->
  401 ``SessionExpired``: log in again once) and ``X-Practice-Id`` (missing or not an integer -> 400
  ``InvalidPracticeId``; a practice that is not in this database -> 403 ``PracticeNotFound``). Data of another
  practice is invisible: it answers 404 like a record that does not exist.
- ``GET /system`` (no session needed) -> ``{"ProductName": "Eaglesoft", "Version": "21.20.05",
  "DatabaseName": "PattersonPM", "ServerTime": naive}``. Writes (every POST/PUT/DELETE below) need major
  version 18 or newer; on an older version they answer 403 ``VersionUnsupported`` (reads still work).
- Lists: ``PageNumber`` (from 1, default 1), ``PageSize`` (1..200, default 50) -> ``{"Items": [...],
  "PageNumber", "PageSize", "TotalCount"}``, ordered by id ascending. A page past the end has no items.
  Unknown query parameters and bad values -> 400 ``InvalidParameter`` (the message names the parameter).
- Routes match the path as sent: ``/practices/1%2Fchairs`` is the (unknown) practice ``1/chairs``, never the
  chairs of practice 1; ``/patients/%2E%2E`` is the patient ``..`` (:mod:`adapters.sandbox.routing`).
- ``GET /practices`` (paged; every practice of the database; the headers are still required) and
  ``GET /practices/{PracticeId}``: ``{"PracticeId", "Name", "Address1", "Address2", "City", "State", "Zipcode",
  "Phone"}``.
- ``GET /practices/{PracticeId}/chairs`` (paged; ``{PracticeId}`` must equal ``X-Practice-Id``, else 404
  ``NotFound``): ``{"ChairNum", "ChairName", "PracticeId", "Hidden": "Y"|"N"}``. Hidden chairs are listed with
  ``Hidden="Y"``: hidden from every scheduler view, they count as deleted (book nothing new into them).
  Chair numbers are unique in the database.
- ``GET /providers`` (paged; the practice's providers): ``{"ProviderId", "FirstName", "LastName", "Title",
  "Specialty", "Status": "A"|"I", "PracticeId"}``. ``GET /providers/{ProviderId}``.
- ``GET /patients`` (paged), filters (all optional, all must hold): ``LastName``, ``FirstName`` (case-insensitive
  prefix), ``BirthDate`` (``YYYY-MM-DD``, exact), ``Phone`` (digits only compared; matches any of Cell/Home/Work
  phone), ``EmailAddress`` (case-insensitive exact), ``Status`` (``A``|``I``), ``NotesContains``
  (case-insensitive substring of ``PatientNotes``: where an integrator finds its own reference).
  ``GET /patients/{PatientId}``.
  Patient: ``{"PatientId", "FirstName", "LastName", "MiddleInitial", "PreferredName", "BirthDate", "Sex": "M"|"F",
  "Status": "A"|"I", "PatientStatus": "Y"|"N", "CellPhone", "HomePhone", "WorkPhone", "EmailAddress", "Address1",
  "Address2", "City", "State", "Zipcode", "ReceivesSms": "Y"|"N", "PracticeId", "PatientNotes",
  "DateModified"}`` (absent values are ``null``; phones are 10 digits as stored).
- ``GET /appointments`` (paged), filters: ``StartDate``, ``EndDate`` (naive date-time, or a date: ``StartDate``
  = that day 00:00, ``EndDate`` = the END of that day; keeps appointments that overlap the window, i.e.
  ``EndTime > StartDate and StartTime < EndDate``; a value with an offset -> 400), ``LocationId`` (chair
  number), ``PatientId``, ``Classification`` (1|2), ``NotesContains`` (substring of ``AppointmentNotes``).
  ``GET /appointments/{AppointmentId}``. A deleted (cancelled) appointment answers 404.
  Appointment: ``{"AppointmentId", "PatientId": str|null, "PracticeId", "LocationId" (= ChairNum), "StartTime",
  "EndTime", "Classification": 1 (patient appointment) | 2 (schedule block, PatientId null),
  "AppointmentTypeId": int|null, "Description", "AppointmentNotes", "DateAppointed", "DateConfirmed",
  "ConfirmationStatus": 0 unconfirmed | 1 confirmed | 2 left message | 3 no answer,
  "AppointmentArrivalStatus": 0 not arrived | 1 arrived | 2 seated | 3 checked out | 4 walked out | 5 no-show,
  "ArrivalTime", "InchairTime", "WalkoutTime", "SoonerIfPossible": "Y"|"N",
  "Providers": [{"ProviderId": "DDS1", "Primary": "Y"}], "DateModified"}``. Providers are the many-to-many
  ``appointment_provider`` rows, embedded; at most one is ``Primary="Y"``.
- The sandbox ACCEPTS overlapping bookings in one chair, like the real PMS: the adapter must check.

Asynchronous writes
-------------------
- ``POST /patients``, ``PUT /patients/{id}``, ``POST /appointments``, ``PUT /appointments/{id}``,
  ``DELETE /appointments/{id}`` (cancellation: the appointment is deleted; patients are never deleted:
  ``DELETE /patients/{id}`` -> 405 ``MethodNotAllowed``, set ``Status`` to ``I`` instead) answer
  ``202 {"WriteId", "Status": "Pending"}`` with ``Location: /api/v1/writes/{WriteId}``. Nothing is applied yet.
- Synchronous checks first (no write is queued): malformed JSON or body not an object -> 400 ``ValidationFailed``;
  an unknown or read-only field -> 400 ``UnknownField``; a bad type/format/enum, a missing required field, or
  ``EndTime <= StartTime`` -> 400 ``ValidationFailed``; PUT/DELETE of an id that does not exist in the practice
  -> 404 ``NotFound``; PUT/DELETE of a record that already has a Pending write -> 409 ``RecordLocked``
  (retry later). Messages name fields, never values.
- PUT is partial: fields in the body replace, absent fields stay, ``null`` clears an optional field.
  ``Providers`` in a body replaces the whole list. Read-only: ``PatientId`` (patients), ``AppointmentId``,
  ``PracticeId`` (taken from ``X-Practice-Id``; may be echoed if equal), ``DateModified``, ``DateAppointed``.
  Patient create requires ``FirstName``, ``LastName``; defaults ``Status="A"``, ``PatientStatus="Y"``,
  ``ReceivesSms="N"``. Appointment create requires ``LocationId``, ``StartTime``, ``EndTime`` and, for
  ``Classification`` 1 (default), ``PatientId`` (string or int); defaults ``ConfirmationStatus=0``,
  ``AppointmentArrivalStatus=0``, ``SoonerIfPossible="N"``, ``Providers=[]``.
- ``GET /writes/{WriteId}`` (same practice, else 404) -> ``{"WriteId", "Status": "Pending", "EntityType":
  "Patient"|"Appointment", "Operation": "Create"|"Update"|"Delete", "EntityId": int|null, "ErrorCode": null,
  "Reason": null}``; ``Completed``: ``EntityId`` is the new/updated/deleted record's id; ``Failed``:
  ``ErrorCode`` and ``Reason`` (a sentence without values) set, nothing was applied.
- A write resolves ``write_delay_ms`` after it was accepted (default uniform 50..200 ms, drawn from the seed).
  Business checks run when it resolves, against the data as it is then:
  ``InvalidPatient`` (PatientId not a patient of the practice), ``InvalidChair`` (no such chair in the practice,
  or the chair is hidden), ``InvalidProvider`` (unknown ProviderId of the practice), ``NotFound`` (the record was
  deleted meanwhile): all PERMANENT. Injected by faults: ``RecordLocked`` and ``ServerBusy``: TRANSIENT (nothing
  was applied; sending the same write again may succeed).

Faults (``adapters.sandbox.faults``, the same switches as every sandbox)
-----------------------------------------------------------------------
``latency``, ``error`` (5xx -> ``{"ErrorCode": "InternalError"|"ServiceUnavailable"|"ServerError", ...}``),
``rate_limit`` (429 ``TooManyRequests`` + ``Retry-After`` seconds), ``hang``, ``refuse``, ``lost_response`` (a
write is queued, and so applied later, but the 202 is lost), ``stale_reads`` (``lag_ms``: a write's effect shows
in LIST reads only that long after it was applied; ``GET /{id}`` sees it at once), ``expire_tokens`` (revokes
every session). Paths match the full path or the path below ``/api/v1`` (``path=/appointments``).
Eaglesoft-only write faults (same spec syntax, same scope keys ``method``, ``path``, ``count``, ``skip``,
``probability``, ``duration_s``; they fire on accepted writes only):

- ``write_failed[,error_code=RecordLocked][,reason=...]``: the write is accepted, then ``Failed`` when it
  resolves (default ``error_code=RecordLocked``, transient; any code is allowed, e.g. ``InvalidPatient``).
- ``write_stuck[,pending_s=30][,then=completed|failed][,error_code=ServerBusy]``: the write stays ``Pending``
  for ``pending_s`` seconds (past any reasonable deadline), then completes (applied then) or fails.

Admin API (no auth; never faulted)
----------------------------------
``GET|POST|DELETE /_admin/faults`` (body ``{"rules": [...], "specs": ["write_failed,count=1", ...],
"seed": 7}``; write-fault kinds are routed to the write plan; GET shows ``rules`` and ``writeRules``),
``POST /_admin/outage`` ``{"seconds": 2}``, ``GET|DELETE /_admin/requests`` (paths as sent, percent-encoded),
``GET /_admin/summary``,
``POST /_admin/reset`` ``{"seed": 42}`` (data, sessions, writes back to the seed; fault plans back to the
start-up ones), ``POST /_admin/sessions/revoke`` (alias ``/_admin/tokens/revoke``) -> ``{"revoked": n}``,
``GET /_admin/count?reference=cmd-1`` -> ``{"reference", "count", "records": [{"resource", "id",
"practiceId"}]}`` (applied records whose ``PatientNotes``/``AppointmentNotes`` hold the reference as a whole
token; deleted appointments excluded), ``GET /_admin/records/{patients|appointments}/{id}`` -> ``{"practiceId",
"deleted", "record"}`` (the current version, read lags ignored), ``GET /_admin/writes`` -> every write.
"""

from __future__ import annotations

from adapters.eaglesoft.sandbox.app import API_BASE, EaglesoftSandbox
from adapters.eaglesoft.sandbox.config import SandboxConfig

__all__ = ["API_BASE", "EaglesoftSandbox", "SandboxConfig"]
