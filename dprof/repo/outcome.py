"""What happened to a profile handed to the repo: stored, spooled, or lost.

``ProfileRepo.add`` returns a :class:`StoreOutcome` so that whoever reports it
(``dprof run``'s summary, the decorator's warnings) says what really happened
instead of guessing from the absence of an exception. No SQLAlchemy here: the
sqlite3 fast path (``direct.py``) makes outcomes too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

STORED, SPOOLED, LOST = "stored", "spooled", "lost"


@dataclass(frozen=True)
class StoreOutcome:
    """``status``: "stored" (in the database ``where``, a URL with any password
    hidden), "spooled" (waiting in the spool file ``where``, see ``spool.py``) or
    "lost" (neither could be written; ``where`` is the spool file tried).
    ``reason``: why it was not stored (None when it was). True only when stored."""

    status: str
    where: str
    reason: Optional[str] = None

    def __bool__(self) -> bool:
        return self.status == STORED

    @property
    def kept(self) -> bool:
        """Stored or spooled: nothing was lost."""
        return self.status in (STORED, SPOOLED)

    def describe(self) -> str:
        """``stored in URL``, ``spooled to PATH (reason)`` or ``lost: reason``."""
        if self.status == STORED:
            return f"stored in {self.where}"
        if self.status == SPOOLED:
            return f"spooled to {self.where} ({self.reason})"
        return f"lost: {self.reason}"
