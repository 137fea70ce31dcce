"""Lambda SnapStart: what a Forwarder built at init must renew when Lambda resumes it from a snapshot.

With SnapStart, Lambda runs the init (the handler module's cold start) once, when a version is
published, and takes a snapshot of the process; every new execution environment of that version is a
copy of it, resumed from the snapshot, possibly days later. What init made that must differ between
copies, or that cannot outlive the pause, is renewed by runtime hooks (AWS, "Handling uniqueness with
Lambda SnapStart" and "Lambda SnapStart runtime hooks for Python"):

- random number generators: every copy would draw the same sequence. The publisher's jitter RNG is
  reseeded from the operating system, and so is `random`'s shared one (botocore's retry jitter draws
  from it); Python reseeds the latter on fork, not on a snapshot restore.
- open connections: a socket kept idle in the snapshot is resumed with a peer that forgot it long ago.
  The idle keep-alive connections of the wire path and of every botocore client are closed before the
  snapshot (init sends no request, so there should be none), and nothing runs between the snapshot and
  the restore, so each copy's first request connects anew.
- credentials need no hook: botocore's refreshing credentials (the container credentials Lambda gives
  a SnapStart function) are renewed by their expiry time, which is wall-clock time, so a copy resumed
  after they expired fetches new ones before its first request.

`register(forwarder)` hands both hooks to `snapshot_restore_py`, the registry Lambda's Python runtime
provides and runs (before the snapshot in reverse order of registration, after the restore in order;
an after-restore hook must end within Lambda's 10 s restore limit). Registering costs nothing when
SnapStart is off: the runtime then never runs the hooks.
"""

from __future__ import annotations

import random
from typing import Protocol


class Renewable(Protocol):
    def close_connections(self) -> None:
        """Close every idle connection kept for reuse; the next request connects anew."""

    def renew_after_restore(self) -> None:
        """Renew what must differ between copies of one snapshot, and drop what cannot outlive it."""


def register(forwarder: Renewable) -> bool:
    """Register `forwarder`'s hooks with Lambda's runtime hooks; False where there is no registry."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        # Lambda's managed Python runtimes provide the module; outside them (the library and command,
        # a local run without the dev requirements) nothing will ever snapshot this process, so there is
        # nothing to renew, and a missing module must not fail the start.
        return False
    register_before_snapshot(forwarder.close_connections)
    register_after_restore(renew_process_rng)
    register_after_restore(forwarder.renew_after_restore)
    return True


def renew_process_rng() -> None:
    """Reseed `random`'s shared generator from the operating system's entropy."""
    random.seed()
