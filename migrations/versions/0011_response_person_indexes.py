"""response person indexes: the one-per-device and per-IP checks read an index, not every response

Each public submission asks whether its device already answered the questionnaire (and, with an IP
limit, how many answers came from its network lately). The only index naming the questionnaire was
(questionnaire_id, status), and SQLite's planner, with no statistics, chose it over the device index:
each submission read every earlier response of its questionnaire, so submitting got slower as answers
came in. (questionnaire_id, device_hash) and (questionnaire_id, ip_hash, submitted_at) answer both
checks from the index alone; the device index on its own is superseded.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_device_hash")
        batch_op.create_index("ix_response_questionnaire_device", ["questionnaire_id", "device_hash"], unique=False)
        batch_op.create_index(
            "ix_response_questionnaire_ip", ["questionnaire_id", "ip_hash", "submitted_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_questionnaire_ip")
        batch_op.drop_index("ix_response_questionnaire_device")
        batch_op.create_index("ix_response_device_hash", ["device_hash"], unique=False)
