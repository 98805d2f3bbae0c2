"""The one exception type of the command line, and the database errors it stands for."""
from __future__ import annotations

import sqlite3
import sys
from typing import Optional


class CliError(Exception):
    """A user error: printed as one line naming what was wrong, exit code 2."""


def database_problem(exc: BaseException, db: Optional[str]) -> Optional[str]:
    """One line naming the database and why it could not be used, when ``exc`` is a
    failure to open or read it (dprof's StorageError or SchemaError, any SQLAlchemy or
    sqlite3 error); None for anything else. A read verb that cannot open its database
    says so in this line, not in a 130-line traceback; ``db`` is the ``--db`` given."""
    kinds = [sqlite3.Error]
    for module, names in (("dprof.repo.repository", ("StorageError",)),
                          ("dprof.repo.migrate", ("SchemaError",)),
                          ("sqlalchemy.exc", ("SQLAlchemyError",))):
        loaded = sys.modules.get(module)       # not loaded: it cannot have raised
        kinds += [getattr(loaded, name) for name in names if loaded is not None]
    if not isinstance(exc, tuple(kinds)):
        return None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if type(exc).__name__ == "StorageError":         # it names the database already
        return reason
    return f"cannot use the profile database {_url(db)}: {reason}"


def unreadable_profile(exc: BaseException) -> Optional[str]:
    """One line for a stored profile that does not load (ProfileFormatError from the
    database's copy: written by a newer or a broken dprof); None for anything else."""
    errors = sys.modules.get("dprof.errors")
    if errors is None or not isinstance(exc, errors.ProfileFormatError):
        return None
    return f"a stored profile cannot be read: {exc}"


def _url(db: Optional[str]) -> str:
    try:
        from dprof.repo.url import resolve_url
        url = resolve_url(db)
    except (TypeError, ValueError):
        return repr(db)
    import re
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)     # no password in messages
