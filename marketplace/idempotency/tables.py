"""The stored first answers of idempotent requests."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.members.tables import Member


class IdempotencyKey(Table, tablename="idempotency_keys"):
    """One key of one member: what was asked (a fingerprint) and what was answered."""

    id = UUID(primary_key=True)
    member = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    key = Varchar(length=255, null=False)
    fingerprint = Varchar(length=64, null=False)
    status_code = Integer(null=False)
    response_body = Text(null=False)
    created_at = Timestamptz(null=False)
