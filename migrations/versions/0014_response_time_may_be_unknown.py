"""a response's submission time may be unknown

问卷星 downloads sometimes have an empty 提交答卷时间. An imported response without a time used to get the
import's time, so a 2018 survey read as answered on the day it was imported; now its ``submitted_at`` is
NULL (shown as 时间不详) unless the evaluator gives a date for those rows.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# SQLite changes a column by rebuilding the table, and dropping the old ``response`` cascades (foreign keys
# are on) to the rows that point at it: they are copied aside and put back.
CHILDREN = ("review_event", "response_revision")


def _set_nullable(nullable: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in CHILDREN:
            op.execute(f"CREATE TEMP TABLE keep_{name} AS SELECT * FROM {name}")  # noqa: S608 (fixed names)
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.alter_column("submitted_at", existing_type=sa.DateTime(), nullable=nullable)
    if sqlite:
        for name in CHILDREN:
            op.execute(f"DELETE FROM {name}")  # noqa: S608
            op.execute(f"INSERT INTO {name} SELECT * FROM keep_{name}")  # noqa: S608
            op.execute(f"DROP TABLE keep_{name}")


def upgrade():
    _set_nullable(True)


def downgrade():
    # Rows without a time cannot go back to NOT NULL as they are: they take the epoch, visibly not a real time.
    op.execute("UPDATE response SET submitted_at = '1970-01-01 00:00:00' WHERE submitted_at IS NULL")
    _set_nullable(False)
