"""response numbers per questionnaire, how a response arrived, and the revisions of corrected or voided entries

``response.number`` is 第 N 号 within its questionnaire, given at insert from the new counter
``questionnaire.last_response_number`` (claimed in the same statement as the quota place). Existing rows are
numbered in id order and each counter set to its questionnaire's highest number. ``response.mode`` says how a
response arrived (web, paper, import): keyed-in entries are the rows on the paper channel, imported ones carry
the importer's 64-character submission id and no device. ``response_revision`` keeps the answers a response had
before an evaluator corrected or voided it. The system paper channel is stored under its Chinese name again
where an English desk had stored the translation, so it is shown in each reader's language.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_response_number", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mode", sa.String(length=8), server_default="web", nullable=False))
    # One pass with a window function (PostgreSQL, and SQLite from 3.33): a correlated count would be quadratic.
    op.execute(
        "UPDATE response SET number = numbered.n FROM (SELECT id, ROW_NUMBER() OVER "
        "(PARTITION BY questionnaire_id ORDER BY id) AS n FROM response) AS numbered WHERE response.id = numbered.id"
    )
    op.execute(
        "UPDATE questionnaire SET last_response_number = "
        "(SELECT COALESCE(MAX(number), 0) FROM response WHERE response.questionnaire_id = questionnaire.id)"
    )
    op.execute("UPDATE response SET mode = 'paper' WHERE channel = 'paper'")
    op.execute(
        "UPDATE response SET mode = 'import' "
        "WHERE channel <> 'paper' AND device_hash IS NULL AND LENGTH(submission_id) = 64"
    )
    op.execute("UPDATE channel SET name = '纸质问卷' WHERE code = 'paper' AND name = 'Paper questionnaire'")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index("ux_response_questionnaire_number", ["questionnaire_id", "number"], unique=True)
    op.create_table(
        "response_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("answers_before", sa.JSON(), nullable=False),
        sa.Column("channel_before", sa.String(length=32), nullable=False),
        sa.Column("status_before", sa.String(length=16), nullable=False),
        sa.Column("answers_after", sa.JSON(), nullable=True),
        sa.Column("channel_after", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_response_revision_response_id_response"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_response_revision_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_revision")),
    )
    with op.batch_alter_table("response_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_revision_response_id"), ["response_id"], unique=False)


def downgrade():
    with op.batch_alter_table("response_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_revision_response_id"))
    op.drop_table("response_revision")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ux_response_questionnaire_number")
        batch_op.drop_column("mode")
        batch_op.drop_column("number")
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_column("last_response_number")
