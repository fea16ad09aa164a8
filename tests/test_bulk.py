"""Bulk writes for batch work: the same rows as one at a time, COPY on PostgreSQL, all or nothing with the
transaction."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from marketplace.audit import services as audit
from marketplace.audit.tables import AuditEvent
from marketplace.auth import Actor
from marketplace.bulk import insert_records
from marketplace.clock import now
from marketplace.db import INTEGRITY_ERRORS, transaction
from marketplace.events.services import Announcement, emit, emit_many
from marketplace.events.tables import OutboxEvent
from marketplace.members.tables import Member
from tests.builders import member

ACTOR = Actor(label="tests:bulk")


async def _member_id(code: str) -> uuid.UUID:
    await member(code)
    row = await Member.select(Member.id).where(Member.code == code).first()
    assert row is not None
    return uuid.UUID(str(row["id"]))


def _without_ids(rows: list[dict[str, Any]], *drop: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("id", *drop)} for row in rows]


async def test_record_many_writes_the_same_rows_as_record_once_per_change() -> None:
    hzd = await _member_id("HZD")
    change = audit.Change(
        action="settlement.booked", subject_type="settlement", subject_id="S-2025-000001", member_id=hzd, after={"a": 1}
    )
    async with transaction():
        await audit.record(
            ACTOR,
            action=change.action,
            subject_type=change.subject_type,
            subject_id=change.subject_id,
            member_id=hzd,
            after=change.after,
        )
    async with transaction():
        await audit.record_many(ACTOR, [change])
    rows = await AuditEvent.select().where(AuditEvent.action == "settlement.booked").order_by(AuditEvent.occurred_at)
    one, many = _without_ids(rows, "occurred_at")
    assert one == many
    assert one["subject_id"] == "S-2025-000001"


async def test_emit_many_writes_one_outbox_row_per_distinct_recipient_like_emit() -> None:
    hzd, kdz = await _member_id("HZD"), await _member_id("KDZ-MZ")
    async with transaction():
        await emit("settlement.booked", "S-1", [hzd, kdz, hzd], {"gross": "1.00"})
    async with transaction():
        await emit_many(
            [
                Announcement(
                    type="settlement.booked", subject_id="S-2", recipients=(hzd, kdz, hzd), data={"gross": "1.00"}
                )
            ]
        )
    rows = await OutboxEvent.select(OutboxEvent.member, OutboxEvent.subject_id, OutboxEvent.payload)
    by_subject: dict[str, list[Any]] = {}
    for row in rows:
        by_subject.setdefault(row["subject_id"], []).append((str(row["member"]), row["payload"]))
    assert sorted(by_subject["S-1"]) == sorted(by_subject["S-2"])
    assert len(by_subject["S-2"]) == 2


async def test_insert_records_inside_a_transaction_is_rolled_back_with_it() -> None:
    hzd = await _member_id("HZD")
    columns = ("id", "member", "type", "subject_id", "payload", "created_at")

    async def fails_after_inserting() -> None:
        async with transaction():
            await insert_records(OutboxEvent, columns, [(uuid.uuid4(), hzd, "t", "s", "{}", now())])
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await fails_after_inserting()
    assert await OutboxEvent.count() == 0


async def test_insert_records_is_refused_by_the_same_constraints_as_insert() -> None:
    columns = ("id", "member", "type", "subject_id", "payload", "created_at")
    unknown_member = uuid.uuid4()
    with pytest.raises(INTEGRITY_ERRORS):
        async with transaction():
            await insert_records(OutboxEvent, columns, [(uuid.uuid4(), unknown_member, "t", "s", "{}", now())])
    assert await OutboxEvent.count() == 0


async def test_insert_records_writes_many_rows_in_order_of_the_columns() -> None:
    hzd = await _member_id("HZD")
    columns = ("id", "member", "type", "subject_id", "payload", "created_at")
    async with transaction():
        await insert_records(
            OutboxEvent, columns, [(uuid.uuid4(), hzd, "t", f"s-{n:04d}", "{}", now()) for n in range(1200)]
        )
    rows = await OutboxEvent.select(OutboxEvent.subject_id).order_by(OutboxEvent.subject_id)
    assert [row["subject_id"] for row in rows] == [f"s-{n:04d}" for n in range(1200)]
