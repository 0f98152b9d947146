"""The Dentrix Ascend sandbox: a fake Ascend API (behind a fake Apigee) with seeded data and switchable faults.

Run it: ``pms-relay sandbox dentrix --port 8701 --seed 42`` or, in tests,
``DentrixSandbox(SandboxConfig(seed=42)).run_in_thread()`` -> ``RunningServer(base_url, stop(), outage())``.
Ids, credentials and organization ids are printed by the CLI and served by ``GET /_admin/summary``.

Token
    ``POST /oauth/client_credential/accesstoken?grant_type=client_credentials`` with a form body
    ``client_id=…&client_secret=…`` (HTTP Basic credentials are accepted too; ``grant_type`` may also be a
    form field). 200: ``{"access_token", "token_type": "BearerToken", "expires_in": "3599",
    "issued_at": "<ms since epoch>", "client_id", "application_name", "status": "approved", ...}`` --
    ``expires_in`` and ``issued_at`` are strings. Wrong or missing credentials: 401
    ``oauth.v2.InvalidClientIdentifier``; another grant type: 400 ``oauth.v2.UnsupportedGrantType``.
    Tokens live ``--token-ttl`` seconds (default 3599); ``POST /_admin/tokens/revoke`` or the
    ``expire_tokens`` fault revoke every token at once.

Data: ``/ascend-gateway/api/v1/{patients,appointments,locations,operatories,providers}``
    Every call needs ``Authorization: Bearer <token>`` (missing, unknown, expired or revoked: 401
    ``{"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}``)
    then ``Organization-ID: <24 hex>`` (missing: 400 ``validation.MissingOrganizationId``; not 24 hex: 400
    ``validation.InvalidOrganizationId``; unknown or not granted to the token's client: 403
    ``access.OrganizationNotGranted``). An id of another organization answers 404, as if it did not exist.

    ``GET /{resource}``: ``{"data": [...]}``. ``GET /{resource}/{id}``: ``{"data": {...}}``.
    ``POST /patients``, ``POST /appointments``: 201 ``{"data": {...}}`` with ``Location``.
    ``PUT /patients/{id}``, ``PUT /appointments/{id}``: 200 ``{"data": {...}}``. Locations, operatories and
    providers are read-only (POST/PUT: 405 ``protocol.http.MethodNotAllowed``). Unknown resource or path:
    404 ``messaging.adaptors.http.flow.ApplicationNotFound``. Record not found: 404 ``resource.NotFound``.
    Routes match the path as sent: ``/patients/a%2Fb`` is the (unknown) patient ``a/b``, ``/patients/%2E%2E``
    the patient ``..`` (:mod:`adapters.sandbox.routing`).

Ids
    JSON strings of digits (``"100123"``), everywhere, references included; they sort and compare as
    numbers and grow a digit within the seeded data (``"9995"`` < ``"10001"``). Input references accept a
    digit string or a JSON number. New records get ids above every seeded one.

Records (every one has ``id``, ``type``, ``lastModified`` = ``YYYY-MM-DDTHH:MM:SS.mmmZ``, set on each write)
    - ``AppointmentV1``: ``title, start, end`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ``), ``duration`` (minutes),
      ``status`` (UNCONFIRMED CONFIRMED HERE CHAIR COMPLETED CANCELLED MISSED BROKEN), ``patient``,
      ``provider`` (may be null), ``operatory``, ``location`` (ours: always the operatory's location),
      ``other`` (free-text notes, may be null).
    - ``PatientV1``: ``firstName, lastName, middleName, preferredName, dateOfBirth`` (YYYY-MM-DD),
      ``gender`` (M F O, may be null), ``patientStatus`` (NEW ACTIVE INACTIVE NON-PATIENT), ``chartNumber``,
      ``address1, address2, city, state`` (2 letters), ``postalCode``, ``contactMethod`` (CALL ME, TEXT ME,
      EMAIL ME), ``languageType``, ``preferredLocation``, ``phones`` (``[{"number", "type"}]``, type MOBILE
      HOME WORK OTHER), ``emailAddress``, ``notes`` (ours: free text, where integrators keep references).
    - ``ProviderV1``: ``firstName, lastName, shortName, title, specialty, npi, active``.
    - ``LocationV1``: ``name, phone, address1, city, state, postalCode, timeZone`` (IANA).
    - ``OperatoryV1``: ``name, shortName, active, location``. Inactive operatories are listed (``active``
      false), keep their past appointments and refuse new bookings.
    References are typed stubs ``{"id": "123", "type": "PatientV1"}``. Optional fields are present with
    ``null`` when empty, never omitted.

Writes (patients, appointments)
    Body fields present replace those fields; absent fields keep their values; ``null`` clears an optional
    field. ``id``, ``type``, ``lastModified`` in a body are ignored (a PUT ``id`` must match the path); any
    other unknown field is 400 ``validation.UnknownField``, so a full record read with GET can be PUT back.
    400 ``validation.MissingField`` / ``validation.InvalidField`` / ``validation.InvalidReference`` /
    ``validation.InactiveOperatory`` / ``validation.MalformedBody``; the faultstring names the field, never
    the value. Patients need firstName, lastName, dateOfBirth (past, after 1900); ``patientStatus``
    defaults to NEW; a missing ``chartNumber`` is assigned; ``state`` 2 letters (stored upper case);
    ``postalCode`` 12345 or 12345-6789; ``emailAddress`` x@y.z; phone numbers 7-15 digits with ``+-(). ``.
    Appointments need ``start``, ``patient``, ``operatory`` and ``end`` or ``duration``; times need a zone
    (``Z`` or an offset; stored as UTC ``Z``); ``end`` must be after ``start``; when both ``end`` and
    ``duration`` are sent they must agree; a PUT moving only ``start`` keeps the duration; ``status``
    defaults to UNCONFIRMED; references must exist in the organization (400, not 404); booking into an
    inactive operatory is 400; a ``location`` contradicting the operatory's is 400 (an unchanged location
    echoed back in a PUT is ignored). **Overlapping appointments are accepted** (no double-booking guard).

Filtering: ``filter=`` clauses joined by ``,``, all must hold (grammar in :mod:`.filters`)
    Operators ``==  !=  >=  <=  ~=`` and ``field->[a,b]`` (in list). ``~=`` is a case-insensitive contains
    (covers prefixes), for text and phones only; ``==``/``!=`` on text ignore case. Escape a comma in a value
    as ``\\,``. Instants need a zone. Ids compare as numbers, ``phones.number`` by digits. Fields:
    patients ``id lastModified firstName lastName middleName preferredName dateOfBirth gender patientStatus
    chartNumber address1 address2 city state postalCode contactMethod languageType emailAddress notes
    phones.number preferredLocation.id``; appointments ``id lastModified title start end duration status
    other patient.id provider.id operatory.id location.id``; locations ``id lastModified name phone address1
    city state postalCode timeZone``; operatories ``id lastModified name shortName active location.id``;
    providers ``id lastModified firstName lastName shortName title specialty npi active``. An unknown
    field, an operator the field does not support, a bad value or bad syntax: 400
    ``validation.InvalidFilter``. ``responseFields=ALL`` (or a comma list of top-level fields; ``id`` and
    ``type`` always come back). A ``lastModified>=`` clause is expected by the vendor but not enforced.

Pagination (keyset)
    ``pageSize`` (default 50; any positive integer: the record gives no maximum, and real clients ask for
    500; not a positive integer: 400 ``validation.InvalidParameter``) and ``lastId``: records
    in numeric id order with id > lastId that pass the filter. A page shorter than ``pageSize`` is the
    last; a full last page is followed by an empty one.

Rate limits and server errors (fault engine)
    429 ``{"fault": {"faultstring": "Rate limit quota violation. ...", "detail": {"errorcode":
    "policies.ratelimit.QuotaViolation"}}}`` with ``Retry-After: <seconds>``. 500
    ``messaging.adaptors.http.flow.InternalServerError``, 502 ``...UnexpectedEOFAtTarget``, 503
    ``...ServiceUnavailable``, 504 ``...GatewayTimeout``.

Fault switches (``--fault KIND,key=value,...`` at start-up, or ``POST /_admin/faults`` at run time; rules
in :mod:`adapters.sandbox.faults`). Scope on any rule: ``method=POST|PUT``, ``path=/appointments`` (prefix,
full path or below the API base), ``count=N`` (next N matching requests), ``skip=N``, ``probability=p``,
``duration_s=S``.
    - ``latency,dist=fixed,ms=50`` / ``dist=uniform,min_ms=10,max_ms=80`` / ``dist=normal,p50_ms=40,p99_ms=400``
    - ``error,status=503`` (any 5xx) -- with ``count=3`` a burst, with ``probability=0.1`` a rate
    - ``rate_limit,retry_after_s=2``
    - ``hang,seconds=10,then=drop|answer`` (longer than the client's timeout)
    - ``refuse``: outage -- the connection is aborted without a response (a reset). For a real
      "connection refused", ``POST /_admin/outage {"seconds": 2}`` closes the listening socket for that long
      (and aborts requests on already-open connections meanwhile).
    - ``lost_response``: the write is applied, then the connection is aborted (after ``seconds`` if given)
    - ``stale_reads,lag_ms=2000``: the writes it fires on show in *list* reads only after the lag
      (``GET /{id}`` and the admin API see them at once)
    - ``expire_tokens``: revokes every token before the request (e.g. ``skip=20,count=1``)
    - double booking is always accepted; inactive operatories and DST-straddling appointments are seeded.

Admin API (no auth, ``/_admin``; never faulted, never in the request log)
    ``GET /_admin/summary`` (seed, anchor, clients with secrets, organizations with location, operatory and
    provider ids, patient and appointment counts, planted DST / double-booked / inactive-operatory
    appointment ids); ``GET|POST|DELETE /_admin/faults`` (body ``{"rules": [...], "specs": ["KIND,k=v"],
    "seed": n}``, ``?append=true`` adds); ``POST /_admin/outage``; ``POST /_admin/tokens/revoke``;
    ``GET /_admin/requests`` (``{"requests": [{time, method, path, status, faults}]}``, path as sent
    (percent-encoded) without query,
    status null for a dropped connection; ``?since=<unix s>&path=<prefix>``), ``DELETE /_admin/requests``;
    ``GET /_admin/count?reference=<command id>`` (``{"count", "records": [{organizationId, resource, id}]}``:
    patients whose ``notes`` or appointments whose ``other`` hold the reference as a whole token);
    ``GET /_admin/records/{resource}/{id}`` (``{"organizationId", "data"}``, current version, any org);
    ``POST /_admin/reset`` (``{"seed", "anchor"}`` optional: re-seed data; tokens survive when the clients
    are unchanged).

Seed (deterministic from ``--seed``, dates relative to ``--anchor``, default Monday 2026-03-02): three
organizations, five locations in America/New_York, Chicago, Phoenix (no DST), Denver, Los_Angeles; four
operatories per location (one inactive); four providers per organization; 280 patients; about 1,400
appointments from two weeks before to three weeks after the anchor, plus DST-straddling appointments on
2026-03-08 and 2026-11-01 and one double booking per organization. Client "pms-relay" is granted the first
two organizations, client "other-integrator" the third.
"""

from adapters.dentrix.sandbox.app import API_BASE, TOKEN_PATH, DentrixSandbox, SandboxConfig

__all__ = ["API_BASE", "TOKEN_PATH", "DentrixSandbox", "SandboxConfig"]
