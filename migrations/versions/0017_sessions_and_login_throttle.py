"""sessions of their own and sign-in counts for every name

Signing out now deletes a ``user_session`` row (the SHA-256 of the secret kept in the session cookie), so a
copy of that cookie dies with it. Sign-in attempts under names without an account are counted in
``login_throttle`` like ``user.failed_logins``, and both remember the last attempt, after which a day
without one starts the count afresh. Sessions signed in before this revision carry no secret and are refused:
everyone signs in once more.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN: batch mode would rebuild ``user`` on SQLite, and dropping it cascades to its children
    op.add_column("user", sa.Column("last_login_attempt_at", sa.DateTime(), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_login_attempt_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name_hash", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_last_login_attempt_at"), "login_throttle", ["last_login_attempt_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_login_throttle_last_login_attempt_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    op.drop_column("user", "last_login_attempt_at")  # SQLite ≥ 3.35 drops a column in place
