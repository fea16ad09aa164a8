"""The audit table. Rows are never updated or deleted: triggers refuse it on both engines."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.members.tables import Member, User


class AuditEvent(Table, tablename="audit_events"):
    """One change, written in the same transaction as the change itself."""

    id = UUID(primary_key=True)
    occurred_at = Timestamptz(null=False)
    actor_user = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    actor_label = Varchar(length=254, null=False)
    member = ForeignKey(Member, null=True, default=None, on_delete=OnDelete.restrict)
    subject_type = Varchar(length=64, null=False)
    subject_id = Varchar(length=64, null=False)
    action = Varchar(length=64, null=False)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    reason = Text(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
