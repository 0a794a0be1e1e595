"""response extras: the answers not in the codes, as compact JSON, for fast analysis

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extras", sa.Text(), nullable=True))
    _backfill()


def _backfill():
    """Derive extras for stored responses from their answers and their version's definition."""
    from survey.responses.coding import response_extras

    connection = op.get_bind()
    versions = {
        row.id: row.definition if isinstance(row.definition, dict) else json.loads(row.definition)
        for row in connection.execute(sa.text("SELECT id, definition FROM questionnaire_version"))
    }
    rows = connection.execute(sa.text("SELECT id, version_id, answers FROM response")).fetchall()
    update = sa.text("UPDATE response SET extras = :extras WHERE id = :id")
    for row in rows:
        answers = row.answers if isinstance(row.answers, dict) else json.loads(row.answers)
        connection.execute(update, {"extras": response_extras(versions[row.version_id], answers), "id": row.id})


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("extras")
