"""The respondent path's hottest statements, run on the driver's own cursor.

SQLAlchemy builds an execution context and a result for every statement: the parameters through a
processor each, the cursor's description read into objects, a row with a processor per column. For the
two link lookups of a respondent (19 columns each) that was 0.34 M instructions apiece, and the write
another 0.13 M: together 11 % of a respondent's page view and submission on PostgreSQL
(``bench/instructions.py``: 7.34 M, and 6.56 M with this module); SQLite's write, an INSERT and its counter
claims, each returning the row it wrote, another 0.06 M. The statements stay SQLAlchemy's: the
SQL is its compilation for the connection's dialect, the parameters go through the same bind processors
(JSON, and on SQLite dates and booleans), and the values come back through the same result processors,
so the driver sees and returns exactly what it did through SQLAlchemy. The engine's
``before_cursor_execute`` listeners still see each statement. Should the driver raise, the statement is run
again the ordinary way, so the error surfaces as SQLAlchemy raises it: wrapped (``IntegrityError``…), and
with a dead connection marked invalid for the pool. That second run is safe because these statements run
in autocommit or, on SQLite, in a transaction the failure leaves as it was: a failed statement changed
nothing. Only for a connection outside any ORM transaction: the respondent page's own.

The results pages' reads of every response (``plain_rows``) come back as the driver's tuples too. Past the
connection's set-up (``survey.extensions``), this module is the only one that touches a DBAPI cursor.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class DriverForm:
    """A statement compiled once for one kind of database."""

    compiled: Any
    sql: str
    order: tuple[str, ...] | None  # the parameters' order when the driver takes them by position (SQLite)
    bind: dict[str, Any]  # the parameters that need a bind processor, and it
    convert: tuple | None  # each returned column's result processor; None when no column needs one
    row: type  # a named tuple of the returned columns' names, the names SQLAlchemy's rows read them by


_FORMS: dict[tuple, DriverForm] = {}


def driver_form(statement: Any, dialect: Any) -> DriverForm:
    """``statement`` compiled for ``dialect``, once per kind of database (apps come and go in tests).

    The statement must name all its parameters itself: a bare ``insert(table)`` takes its columns from each
    execution's parameters, which a form compiled once cannot (``survey.respond.submit.ONE_STATEMENT`` names them).
    """
    key = (statement, dialect.name, dialect.driver)
    form = _FORMS.get(key)
    if form is None:
        compiled = statement.compile(dialect=dialect)
        bind = {}
        for name, parameter in compiled.binds.items():
            processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                bind[name] = processor
        kinds = [column.type.dialect_impl(dialect) for column in statement.exported_columns]
        convert = tuple(kind.result_processor(dialect, None) for kind in kinds)
        order = tuple(compiled.positiontup) if compiled.positional else None
        row = namedtuple("Row", [column.key for column in statement.exported_columns], rename=True)
        form = DriverForm(compiled, str(compiled), order, bind, convert if any(convert) else None, row)
        _FORMS[key] = form
    return form


def first_row(connection: Connection, statement: Any, parameters: dict) -> tuple | None:
    """The first row ``statement`` returns (a SELECT, or a write with RETURNING), or ``None``.

    The row reads by column name as SQLAlchemy's does (``row.title``), and by position.
    """
    form = driver_form(statement, connection.dialect)
    values = form.compiled.construct_params(parameters)
    for name, processor in form.bind.items():
        values[name] = processor(values[name])
    if form.order is not None:
        values = tuple(values[name] for name in form.order)
    if not connection.in_transaction():
        connection.begin()  # as ``execute`` would: the caller's commit() or rollback() then covers this statement
    cursor = connection.connection.driver_connection.cursor()
    try:
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, form.sql, values, None, False)
        cursor.execute(form.sql, values)
        row = cursor.fetchone()
    except connection.dialect.loaded_dbapi.Error:
        return connection.execute(statement, parameters).first()
    finally:
        cursor.close()
    if row is None:
        return None
    if form.convert is not None:
        row = [value if convert is None else convert(value) for convert, value in zip(form.convert, row, strict=True)]
    return form.row._make(row)


def plain_rows(connection: Connection, statement: Any) -> list[tuple]:
    """Every row of a read-only SELECT, as the driver's plain tuples, in the connection's transaction.

    For a million rows, SQLAlchemy's Row objects cost more than the database read itself: the statement is
    still SQLAlchemy's (compiled, its values quoted inline, for the connection's dialect), only the rows come
    back as the driver gives them.
    """
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()
