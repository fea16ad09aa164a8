"""Bulk inserts for batch work such as a settlement run: PostgreSQL's COPY, Piccolo's multi-row INSERT elsewhere.

Building a Piccolo object per row and a statement per few hundred rows costs more than the database's own work
when a run writes tens of thousands of rows. COPY inside the caller's transaction fires the same triggers and
checks the same constraints as INSERT, so nothing the database guards is bypassed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

#: Rows per INSERT statement where COPY is not used: well below either engine's limit of bound parameters.
INSERT_ROWS = 500


async def insert_records(table: type[Table], columns: Sequence[str], records: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``records`` (tuples in the order of ``columns``) into ``table`` inside the current transaction.

    On PostgreSQL within a transaction this is one COPY; otherwise (SQLite, or no transaction) multi-row
    INSERTs through Piccolo, a few hundred rows each. Values are what the table's Piccolo columns take.
    """
    if not records:
        return
    db = table._meta.db  # the table's engine: finding it through piccolo_conf again costs more than the COPY
    current = db.current_transaction.get()
    if isinstance(db, PostgresEngine) and current is not None:
        await current.connection.copy_records_to_table(
            table._meta.tablename, records=list(records), columns=list(columns)
        )
        return
    for start in range(0, len(records), INSERT_ROWS):
        await table.insert(
            *(table(**dict(zip(columns, record, strict=True))) for record in records[start : start + INSERT_ROWS])
        )
