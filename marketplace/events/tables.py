"""The outbox: one row per event and recipient member, written in the transaction of the change."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigInt, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from marketplace.members.tables import Member


class OutboxEvent(Table, tablename="outbox_events"):
    """An event for one member; ``published_at`` is set once the dispatcher has handed it to the channels."""

    id = UUID(primary_key=True)
    member = ForeignKey(Member, null=False, on_delete=OnDelete.restrict)
    type = Varchar(length=64, null=False)
    subject_id = Varchar(length=64, null=False)
    payload = JSON(null=False)
    created_at = Timestamptz(null=False)
    published_at = Timestamptz(null=True, default=None)


class ChangeCounter(Table, tablename="change_counters"):
    """A counter that every committed change of one kind increments in its own transaction (see ``counters``)."""

    name = Varchar(length=32, primary_key=True)
    value = BigInt(null=False, default=0)
