"""stored uploads and report templates: pending import uploads and projects' report templates in the database

They lived on one app server's disk (instance/imports, instance/report_templates); in the database every
app server behind the proxy sees them.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pending_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f("fk_pending_import_questionnaire_id_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_pending_import_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_import")),
        sa.UniqueConstraint("token", name=op.f("uq_pending_import_token")),
    )
    with op.batch_alter_table("pending_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_import_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_import_questionnaire_id"), ["questionnaire_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_import_user_id"), ["user_id"], unique=False)
    op.create_table(
        "report_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_report_template_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["user.id"], name=op.f("fk_report_template_updated_by_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_template")),
        sa.UniqueConstraint("project_id", name=op.f("uq_report_template_project_id")),
    )


def downgrade():
    op.drop_table("report_template")
    with op.batch_alter_table("pending_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_import_user_id"))
        batch_op.drop_index(batch_op.f("ix_pending_import_questionnaire_id"))
        batch_op.drop_index(batch_op.f("ix_pending_import_created_at"))
    op.drop_table("pending_import")
