"""rounds: a questionnaire may be a round of a series, linked to its previous round with a question mapping

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "round_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("previous_label", sa.String(length=50), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f("fk_round_link_questionnaire_id_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["questionnaire.id"], name=op.f("fk_round_link_previous_id_questionnaire"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_link")),
        sa.UniqueConstraint("questionnaire_id", name=op.f("uq_round_link_questionnaire_id")),
    )
    op.create_index(op.f("ix_round_link_previous_id"), "round_link", ["previous_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_round_link_previous_id"), table_name="round_link")
    op.drop_table("round_link")
