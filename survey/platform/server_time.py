"""The database's own clock in UTC, as a column default for rows written around the ORM.

The respondent path writes a response with one compiled statement on the driver's cursor
(``survey.responses.capture``, ``survey.platform.driver``), where Python-side column defaults never run, and bulk loads
(``bench/``) write plain SQL; a column such a row must have is filled by the database. Times are stored as
naive UTC everywhere (``survey.models.utcnow``): SQLite's ``CURRENT_TIMESTAMP`` already is UTC, while
PostgreSQL's would be cast to the session's time zone, so it is taken in UTC explicitly there.
"""

from __future__ import annotations

from sqlalchemy import DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class utc_now(FunctionElement):  # noqa: N801 - named like the SQL function it stands for
    """``CURRENT_TIMESTAMP`` in UTC, without a time zone, on every supported database."""

    type = DateTime()
    inherit_cache = True


@compiles(utc_now)
def _utc_now_default(element, compiler, **kw) -> str:
    """SQLite (and others whose CURRENT_TIMESTAMP is UTC)."""
    return "CURRENT_TIMESTAMP"


@compiles(utc_now, "postgresql")
def _utc_now_postgresql(element, compiler, **kw) -> str:
    """PostgreSQL: now() in UTC as a timestamp without time zone, whatever the session's TimeZone."""
    return "timezone('utc', CURRENT_TIMESTAMP)"
