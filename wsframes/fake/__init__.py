"""A faithful local Webshare API and synthetic activity data (demo, tests, benchmarks).

- :func:`generate_activity`: realistic synthetic records, deterministic for a seed.
- :class:`FakeWebshare`: a real HTTP server on loopback speaking the Webshare endpoints
  (activity list, CSV download, download token, hourly and aggregate stats).
- :class:`Faults`: reproducible misbehaviour (429, 502, 503, cut bodies, slow answers).
"""

from __future__ import annotations

from wsframes.fake.faults import FAULT_KINDS, Faults
from wsframes.fake.generate import generate_activity
from wsframes.fake.server import FakeWebshare

__all__ = ["FAULT_KINDS", "FakeWebshare", "Faults", "generate_activity"]
