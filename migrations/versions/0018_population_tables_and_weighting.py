"""population tables, a weighting scheme and a sample plan per questionnaire

Population counts for respondent-group questions (one question or several cross-classified), the scheme that
weights the valid responses to them (post-stratification or raking, with optional trimming), and the designed
sample's allocation to strata. Weights themselves are never stored: they are computed with the figures.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _questionnaire_key(table: str) -> list:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f(f"fk_{table}_questionnaire_id_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade():
    op.create_table(
        "population_table",
        *_questionnaire_key("population_table"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("question_keys", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("questionnaire_id", "name", name=op.f("uq_population_table_questionnaire_id")),
    )
    op.create_index(
        op.f("ix_population_table_questionnaire_id"), "population_table", ["questionnaire_id"], unique=False
    )
    op.create_table(
        "weighting_scheme",
        *_questionnaire_key("weighting_scheme"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("table_names", sa.JSON(), nullable=False),
        sa.Column("tolerance", sa.Double(), nullable=False),
        sa.Column("max_iterations", sa.Integer(), nullable=False),
        sa.Column("trim", sa.String(length=16), nullable=False),
        sa.Column("trim_low", sa.Double(), nullable=True),
        sa.Column("trim_high", sa.Double(), nullable=True),
        sa.Column("trim_multiple", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("questionnaire_id", name=op.f("uq_weighting_scheme_questionnaire_id")),
    )
    op.create_table(
        "sample_plan",
        *_questionnaire_key("sample_plan"),
        sa.Column("stratum_key", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("maximum", sa.Integer(), nullable=True),
        sa.Column("expected_rate", sa.Double(), nullable=True),
        sa.Column("allocation", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("questionnaire_id", name=op.f("uq_sample_plan_questionnaire_id")),
    )


def downgrade():
    op.drop_table("sample_plan")
    op.drop_table("weighting_scheme")
    op.drop_index(op.f("ix_population_table_questionnaire_id"), table_name="population_table")
    op.drop_table("population_table")
