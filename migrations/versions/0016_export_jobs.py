"""export jobs: heavy downloads made apart from the request, shared by every app server

A results workbook, working-paper bundle, report PDF or data set of 50,000 responses took the worker
(and the cores) citizens' pages needed. Each is now a job (``survey.jobs.queue``): its state and, for a few
minutes, its finished file live here, so any app server can show its progress and hand it out.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("active_key", sa.String(length=64), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_export_job_project_id_project"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f("fk_export_job_questionnaire_id_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_export_job_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
        sa.UniqueConstraint("active_key", name=op.f("uq_export_job_active_key")),
        sa.UniqueConstraint("user_id", "slot", name=op.f("uq_export_job_user_id")),
        sqlite_autoincrement=True,  # a deleted job's id is never given to another
    )
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_job_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_job_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_job_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_job_questionnaire_id"), ["questionnaire_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_job_user_id"), ["user_id"], unique=False)


def downgrade():
    op.drop_table("export_job")
