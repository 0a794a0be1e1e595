"""questionnaire population (总体规模) for the finite-population correction

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.add_column(sa.Column("population", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_column("population")
