"""an imported response's source row (问卷星's 序号), and when every response arrived

``response.source_row`` keeps the row an imported response came from (问卷星's 序号, or its data row in a
file without one), so a stored response can be traced back to the file; NULL for responses not imported.
``response.received_at`` is when this service stored the row (UTC, never NULL): rolling retention ages a
response by ``submitted_at``, and by this when that is unknown (an import without times, migration 0014).
Existing rows take their ``submitted_at``, or the time of this migration when that is unknown (a later
purge, never an earlier one). The database fills ``received_at`` for rows written around the ORM.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite rebuilds ``response`` for these changes, and dropping the old table cascades (foreign keys are on)
# to the rows that point at it: they are copied aside and put back, as in 0014.
CHILDREN = ("review_event", "response_revision")
NOW = {"postgresql": "timezone('utc', CURRENT_TIMESTAMP)"}  # stored times are naive UTC; SQLite's is UTC


def _keeping_children(change) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in CHILDREN:
            op.execute(f"CREATE TEMP TABLE keep_{name} AS SELECT * FROM {name}")  # noqa: S608 (fixed names)
    change()
    if sqlite:
        for name in CHILDREN:
            op.execute(f"DELETE FROM {name}")  # noqa: S608
            op.execute(f"INSERT INTO {name} SELECT * FROM keep_{name}")  # noqa: S608
            op.execute(f"DROP TABLE keep_{name}")


def upgrade():
    now = sa.text(NOW.get(op.get_bind().dialect.name, "CURRENT_TIMESTAMP"))

    def change():
        # recreate: SQLite cannot ADD COLUMN with a non-constant default; the copy takes it for every old row.
        with op.batch_alter_table("response", schema=None, recreate="auto") as batch_op:
            batch_op.add_column(sa.Column("source_row", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("received_at", sa.DateTime(), server_default=now, nullable=False))
            batch_op.create_index("ix_response_questionnaire_source_row", ["questionnaire_id", "source_row"])

    _keeping_children(change)
    op.execute("UPDATE response SET received_at = submitted_at WHERE submitted_at IS NOT NULL")


def downgrade():
    def change():
        with op.batch_alter_table("response", schema=None) as batch_op:
            batch_op.drop_index("ix_response_questionnaire_source_row")
            batch_op.drop_column("received_at")
            batch_op.drop_column("source_row")

    _keeping_children(change)
