"""HTTP endpoints of the clearing ledger: thin, each parses, calls one service and answers a Struct."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

from marketplace.accounting import schemas, services
from marketplace.auth import Actor, Principal, Role, requires
from marketplace.errors import AUTHENTICATED, problems
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit
from marketplace.periods import FIRST_PERIOD, LAST_PERIOD, PERIOD_PATTERN

#: Who reads the ledger: the cooperative's roles all of it, a member's accountant its own member's part.
READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor, Role.accountant)
#: Who may check the hash chain: the cooperative's roles.
VERIFIERS = (Role.coop_admin, Role.coop_accountant, Role.auditor)

MemberFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Z][A-Z0-9-]{0,31}$",
        max_length=32,
        description="Member code; a member's accountant may give only its own (the default).",
    ),
]
AsOf = Annotated[dt.date | None, QueryParameter(description="Balances at the end of this day (YYYY-MM-DD).")]
From = Annotated[dt.date | None, QueryParameter(name="from", description="First day, inclusive (YYYY-MM-DD).")]
To = Annotated[dt.date | None, QueryParameter(name="to", description="Last day, inclusive (YYYY-MM-DD).")]
EXPORT_RESPONSE = ResponseSpec(
    data_container=str,
    media_type="text/plain",
    description="One Beancount file (UTF-8) that bean-check accepts, sent as an attachment.",
)
PeriodPath = Annotated[
    str,
    PathParameter(
        pattern=PERIOD_PATTERN, max_length=7, description=f"A month, YYYY-MM, from {FIRST_PERIOD} to {LAST_PERIOD}."
    ),
]


class LedgerController(Controller):
    """The clearing ledger: balances, statements, Beancount export, periods and verification."""

    path = "/api/v1/ledger"
    tags = ["ledger"]

    @get(
        "/balances",
        operation_id="getLedgerBalances",
        guards=[requires(*READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def balances(
        self, request: Request[Principal, Any, Any], as_of: AsOf = None, member: MemberFilter = None
    ) -> schemas.Balances:
        """Balances per account and per member at the end of a day."""
        return await services.get_balances(request.user, as_of=as_of, member=member)

    @get(
        "/statement",
        operation_id="getLedgerStatement",
        guards=[requires(*READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def statement(
        self, request: Request[Principal, Any, Any], member: MemberFilter = None, start: From = None, end: To = None
    ) -> schemas.Statement:
        """A statement with running balances for a member's accounts (or every account) between two dates."""
        return await services.get_statement(request.user, member=member, start=start, end=end)

    @get(
        "/export",
        operation_id="exportLedger",
        guards=[requires(*READERS)],
        media_type="text/plain",
        responses={**problems(*AUTHENTICATED, 404), 200: EXPORT_RESPONSE},
    )
    async def export(
        self, request: Request[Principal, Any, Any], member: MemberFilter = None, start: From = None, end: To = None
    ) -> Stream:
        """The ledger (or a member's part) between two dates as one Beancount file."""
        name, chunks = await services.export_text(request.user, member=member, start=start, end=end)
        return Stream(
            chunks,
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/periods",
        operation_id="listLedgerPeriods",
        guards=[requires(*READERS)],
        responses=problems(*AUTHENTICATED),
    )
    async def periods(
        self, request: Request[Principal, Any, Any], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> schemas.PeriodPage:
        """The months of the ledger, open or closed with their frozen file's sha256."""
        return await services.list_periods(request.user, limit=limit, cursor=cursor)

    @post(
        "/periods/{period:str}/close",
        operation_id="closeLedgerPeriod",
        guards=[requires(Role.coop_accountant)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 409),
    )
    async def close(self, request: Request[Principal, Any, Any], period: PeriodPath) -> schemas.Period:
        """Close a month that has ended (idempotent: closing a closed month answers it unchanged)."""
        return await services.close_period(period, Actor.of(request.user))

    @get(
        "/verify",
        operation_id="verifyLedger",
        guards=[requires(*VERIFIERS)],
        responses=problems(*AUTHENTICATED),
    )
    async def verify(self) -> schemas.VerifyResult:
        """Recompute the hash chain and the closed periods' file hashes; name the first break."""
        return await services.verify()
