"""A faithful local Webshare API and synthetic activity data (demo, tests, benchmarks).

- :func:`generate_activity`: realistic synthetic records, deterministic for a seed.
- :class:`FakeWebshare`: a real HTTP server on loopback speaking the Webshare endpoints
  (activity list, CSV download, download token, hourly and aggregate stats).
- :class:`Incident`: seeded, documented incidents to plant in generated data (tests' ground truth).
- :class:`Faults`: reproducible misbehaviour (429, 502, 503, cut bodies, slow answers).

Where the public API documentation is silent, the fake behaves as follows (clients may rely on
nothing more than the real API promises, but tests can rely on this):

- ``count`` is the number of records matching *every* parameter of the request, the
  ``starting_after`` cursor included: the first page's count is the window's total, a later
  page's count is what remains from that page on.
- ``next`` is null exactly when no matching record follows the page; otherwise it is the full
  URL with every parameter kept and ``starting_after`` set to the last record's timestamp as
  rendered (offset included, percent-encoded). The cursor is strict: tie groups straddling a
  page boundary lose their remainder for a client that only follows ``next``.
- ``timestamp__gte`` may be up to 5 minutes older than ``now - 90 days`` (clock skew) and is
  clamped to that floor; older is a 400 in the live field-error shape. Omitted, it is the floor.
- ``page_size`` that is not a positive integer falls back to 25 (Django REST framework); larger
  than ``page_cap`` is silently capped. Unparsable times and numbers are 400s.
- An unknown ``plan_id`` is a 400 in the documented shape (list of strings).
- Paths must end with ``/``; anything else is 404 ``{"detail": "Not found."}``.
- It listens on loopback only (127.0.0.1, ::1, localhost): a test and demo server on plain http.
- Stats hours are UTC hours rendered in the account time zone.
- The CSV's ``Proxy`` column is ``listen_address:listen_port``; every null is the text ``None``.
"""

from __future__ import annotations

from wsframes.fake.faults import FAULT_KINDS, Faults
from wsframes.fake.generate import generate_activity
from wsframes.fake.incidents import INCIDENT_KINDS, Incident
from wsframes.fake.server import FakeWebshare

__all__ = ["FAULT_KINDS", "INCIDENT_KINDS", "FakeWebshare", "Faults", "Incident", "generate_activity"]
