"""The sweep: removes what a crash left between the steps of an upload or a deletion (a blob, a partly
written blob, a claimed quota), found as pending blobs (store/base.py, FileStore) older than a grace
period. An entry younger than the grace may belong to a request still in flight and is left alone;
one swept while its upload is still running makes that upload's commit fail, and the upload then
removes its blob itself, so a sweep never leaves a record without bytes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from app.context import AppContext
from app.services.files import discard

log = logging.getLogger(__name__)

# Far longer than any upload or deletion takes between its first and last step (the function's timeout
# is 15 s, infra/template.yaml), so an entry this old was left by a crash.
DEFAULT_GRACE = timedelta(minutes=15)
_BATCH = 100


def sweep(context: AppContext, *, grace: timedelta = DEFAULT_GRACE) -> int:
    """Removes every pending blob noted more than `grace` ago, blob first, then its quota; returns how
    many. Safe to run at any time, from several places at once, and again after an interruption."""
    before = datetime.now(UTC) - grace
    seen: set[str] = set()
    while True:
        # Each batch is read again from the oldest: what was released is gone (or, on an eventually
        # consistent index, listed once more and skipped here), so the walk ends.
        listed = context.store.files.stale_pending(before=before, limit=_BATCH)
        batch = [pending for pending in listed if pending.id not in seen]
        if not batch:
            break
        for pending in batch:
            discard(context, pending)
            seen.add(pending.id)
    if seen:
        log.info("pending blobs swept", extra={"count": len(seen)})
    return len(seen)
