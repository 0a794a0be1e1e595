"""response codes: one character per single-answer item, for fast analysis

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("codes", sa.Text(), nullable=True))
    _backfill()


def _backfill():
    """Derive codes for stored responses from their answers and their version's definition."""
    from survey.responses.coding import response_codes

    connection = op.get_bind()
    versions = {
        row.id: row.definition if isinstance(row.definition, dict) else json.loads(row.definition)
        for row in connection.execute(sa.text("SELECT id, definition FROM questionnaire_version"))
    }
    rows = connection.execute(sa.text("SELECT id, version_id, answers FROM response")).fetchall()
    update = sa.text("UPDATE response SET codes = :codes WHERE id = :id")
    for row in rows:
        answers = row.answers if isinstance(row.answers, dict) else json.loads(row.answers)
        connection.execute(update, {"codes": response_codes(versions[row.version_id], answers), "id": row.id})


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("codes")
