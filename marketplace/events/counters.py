"""Change counters in the database: the one signal of "something changed" that no process can miss.

A change that must be seen at once by every process — a token revoked, a user deactivated, a member suspended
(``ACCESS``), an offer or category changed (``CATALOGUE``) — increments its counter *inside its own
transaction*. So the counter moves exactly when the change commits, whatever Redis does, and a reader that
compares the counter it read before with the one it reads now knows whether anything changed in between:

- the catalogue cache keys every entry by the counter, read from the database on each cached read (piggy-backed
  on the token lookup where there is one), so no answer is ever older than a change committed before the request
  began, in any process, with or without Redis;
- open event streams re-check their token when ``ACCESS`` moved (``events.streams``).

A counter row is locked by the incrementing transaction until it commits, so changes of one kind are serialised;
they are rare (administration, catalogue edits), never on a booking's or a settlement's path.
"""

from __future__ import annotations

from typing import Final

from marketplace.events.tables import ChangeCounter

ACCESS: Final = "access"
CATALOGUE: Final = "catalogue"


async def bump(name: str) -> None:
    """Count one change of kind ``name``; call it inside the transaction of the change."""
    await ChangeCounter.update({ChangeCounter.value: ChangeCounter.value + 1}).where(ChangeCounter.name == name)


async def current(name: str) -> int:
    """The counter's value as committed now."""
    row = await ChangeCounter.select(ChangeCounter.value).where(ChangeCounter.name == name).first()
    return int(row["value"]) if row is not None else 0
