"""Alembic on both databases: empty → head → base → head, and the previous revision with data → head keeping it.

Each test gets a database of its own (a file for SQLite, a fresh PostgreSQL database), so a half-applied
migration can never leak into the shared test database the other tests use.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from survey.platform.extensions import db
from tests.conftest import PG_TEST_DB, fresh_postgres_database, make_config

HEAD, PREVIOUS = "0020", "0019"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    """An app on a brand-new, empty database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    else:
        url = fresh_postgres_database(f"{PG_TEST_DB}_migrations")
    app = create_app(make_config(url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def _revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _schema_differences() -> list:
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def test_empty_to_head_to_base_and_back(empty_app):
    assert _tables() == set()
    upgrade()
    assert _revision() == HEAD
    assert set(db.metadata.tables) <= _tables()
    assert _schema_differences() == []
    downgrade(revision="base")
    assert _revision() is None
    assert _tables() <= {"alembic_version"}  # every table the migrations made is gone
    upgrade()
    assert _revision() == HEAD and _schema_differences() == []


def test_previous_revision_with_data_upgrades_keeping_every_row(empty_app):
    upgrade(revision=PREVIOUS)
    assert _revision() == PREVIOUS
    before = _fill_every_table()
    assert before, "the previous schema has tables to fill"
    upgrade()
    assert _revision() == HEAD
    after = _read_every_table()
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table], strict=True):
            assert {k: new[k] for k in old} == old, table  # every value that was there is still there
    assert _schema_differences() == []


def _fill_every_table() -> dict[str, list[dict]]:
    """One row in every table of the current (old) schema, built from the reflected columns alone.

    Reflection rather than the models: the models describe the head schema, and the point is to put
    data into the old one. Nullable foreign keys stay empty, so cycles between tables do not matter.
    """
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tables = [t for t in _insert_order(metadata) if t.name != "alembic_version"]
    with db.engine.begin() as connection:
        for table in tables:
            connection.execute(table.insert().values(_row_for(table)))
    return _read_every_table(names=[t.name for t in tables])


def _insert_order(metadata: sa.MetaData) -> list[sa.Table]:
    """Tables ordered so that every required (non-null) foreign key points at a table filled earlier."""
    remaining, ordered = dict(metadata.tables), []
    while remaining:
        ready = [
            t
            for t in remaining.values()
            if all(
                fk.column.table.name not in remaining or fk.column.table is t
                for c in t.columns
                if not c.nullable
                for fk in c.foreign_keys
            )
        ]
        assert ready, f"required foreign keys form a cycle: {sorted(remaining)}"
        for table in sorted(ready, key=lambda t: t.name):
            ordered.append(remaining.pop(table.name))
    return ordered


def _row_for(table: sa.Table) -> dict:
    """Values for the columns an insert needs: id 1, foreign keys to row 1, a plain value of each type."""
    row = {}
    for column in table.columns:
        if column.primary_key or column.foreign_keys:
            row[column.name] = 1 if (column.primary_key or not column.nullable) else None
        elif not column.nullable or column.server_default is None:
            row[column.name] = _value_of(column, table.name)
    return row


def _value_of(column: sa.Column, table: str):
    """A representative value of the column's type (short enough for any length limit)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 7
    if isinstance(kind, sa.Numeric):
        return Decimal("12.5") if not isinstance(kind, sa.Float) else 12.5
    if "DOUBLE" in str(kind).upper() or "REAL" in str(kind).upper():  # a reflected double precision column
        return 12.5
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2019, 5, 1, 9, 30, 0)
    if isinstance(kind, sa.Date):
        return dt.date(2019, 5, 1)
    if isinstance(kind, sa.JSON):
        return {"q4": "a", "note": "满意"}
    if isinstance(kind, sa.LargeBinary):
        return b"\x00\x01"
    length = getattr(kind, "length", None) or 32
    return f"{table[:3]}{column.name}"[: max(1, min(length, 12))]


def _read_every_table(names: list[str] | None = None) -> dict[str, list[dict]]:
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    result = {}
    with db.engine.connect() as connection:
        for name in names or metadata.tables:
            table = metadata.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            result[name] = [dict(row._mapping) for row in connection.execute(table.select().order_by(*order))]
    return result


def test_0013_numbers_existing_responses_per_questionnaire_in_id_order(empty_app):
    """Responses stored before 0013 get 第 N 号 in their questionnaire's id order, each counter continues from the
    highest number, keyed-in and imported rows get their mode, and the paper channel its stored msgid back."""
    upgrade(revision="0012")
    with db.engine.begin() as connection:
        run = connection.exec_driver_sql
        run("INSERT INTO project (id, name, region, evaluated_unit, evaluating_org, created_at) "
            "VALUES (1, 'p', '', '', '', '2026-01-01 00:00:00')")  # fmt: skip
        for qid in (1, 2):
            run(
                "INSERT INTO questionnaire (id, project_id, title, template_key, status, public_token, definition, "
                "accepted_count, one_per_device, ip_window_minutes, anonymous, created_at) "
                f"VALUES ({qid}, 1, 'q', '', 'published', 'tok{qid}', '{{}}', 0, true, 60, false, '2026-01-01')"
            )
            run(f"INSERT INTO questionnaire_version (id, questionnaire_id, number, definition, created_at) "
                f"VALUES ({qid}, {qid}, 1, '{{}}', '2026-01-01')")  # fmt: skip
        run("INSERT INTO channel (id, questionnaire_id, code, name, token, accepted_count, created_at) "
            "VALUES (1, 1, 'paper', 'Paper questionnaire', 'ptok', 0, '2026-01-01')")  # fmt: skip
        rows = [(1, "web", "a" * 32, "'d'"), (2, "web", "b" * 32, "'d'"), (1, "paper", "c" * 32, "NULL"),
                (1, "web", "e" * 64, "NULL"), (2, "web", "f" * 32, "'d'")]  # fmt: skip
        for rid, (qid, channel, submission, device) in enumerate(rows, start=1):
            run(
                "INSERT INTO response (id, questionnaire_id, version_id, submission_id, submitted_at, channel, "
                f"device_hash, status, answers, flags, reviewed) VALUES ({rid}, {qid}, {qid}, '{submission}', "
                f"'2026-01-02', '{channel}', {device}, 'valid', '{{}}', '[]', false)"
            )
    upgrade()
    with db.engine.connect() as connection:
        numbers = connection.exec_driver_sql("SELECT id, number, mode FROM response ORDER BY id").all()
        counters = connection.exec_driver_sql("SELECT id, last_response_number FROM questionnaire ORDER BY id").all()
        name = connection.exec_driver_sql("SELECT name FROM channel").scalar()
    assert [tuple(r) for r in numbers] == [
        (1, 1, "web"), (2, 1, "web"), (3, 2, "paper"), (4, 3, "import"), (5, 2, "web"),
    ]  # fmt: skip
    assert [tuple(r) for r in counters] == [(1, 3), (2, 2)]
    assert name == "纸质问卷"
