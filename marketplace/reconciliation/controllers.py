"""HTTP endpoints of reconciliation: bank statements, manual assignment, open items. Thin, as everywhere."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, MultipartBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from marketplace.auth import Actor, Principal, Role, requires
from marketplace.errors import AUTHENTICATED, FieldError, InvalidInput, problems
from marketplace.idempotency.params import IdempotencyKeyHeader
from marketplace.idempotency.services import fingerprint, run_once
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit
from marketplace.periods import FIRST_PERIOD, LAST_PERIOD, PERIOD_PATTERN
from marketplace.reconciliation import netting, parsing, payment_state, report, schemas, sepa, services
from marketplace.settlement.controllers import NumberPath

#: Who reads bank statements: the cooperative's roles.
STATEMENT_READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor)
#: Who reads open items: the cooperative's roles all of them, a member's accountant its member's.
OPEN_ITEM_READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor, Role.accountant)

MemberFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Z][A-Z0-9-]{0,31}$",
        max_length=32,
        description="Open items of this member; a member's accountant may give only its own.",
    ),
]
ReportMember = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Z][A-Z0-9-]{0,31}$",
        max_length=32,
        description="Only this member's part; a member's accountant may give only its own.",
    ),
]
AsOf = Annotated[date | None, QueryParameter(description="The day the items are aged at (default: today).")]
PeriodPath = Annotated[
    str,
    PathParameter(
        pattern=PERIOD_PATTERN, max_length=7, description=f"A month, YYYY-MM, from {FIRST_PERIOD} to {LAST_PERIOD}."
    ),
]


class BankStatementController(Controller):
    """Bank statements: import (camt.053 or CSV), list with unmatched lines, assign a line by hand."""

    path = "/api/v1/bank-statements"
    tags = ["reconciliation"]

    @post(
        operation_id="importBankStatement",
        guards=[requires(Role.coop_accountant)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 409),
        request_max_body_size=parsing.MAX_FILE_BYTES + 64 * 1024,
    )
    async def import_statement(
        self,
        request: Request[Principal, Any, Any],
        data: MultipartBody[schemas.StatementUpload],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.ImportResult]:
        """Import a camt.053 or CSV statement: new lines stored, matched and booked; all or nothing."""
        upload = data.file
        if not hasattr(upload, "read"):
            raise InvalidInput("The field 'file' must be a file.", errors=[FieldError(field="file", message="a file")])
        content = await upload.read()
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, hashlib.sha256(content).hexdigest()),
            lambda: services.import_statement(content, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
        )

    @get(operation_id="listBankStatements", guards=[requires(*STATEMENT_READERS)], responses=problems(*AUTHENTICATED))
    async def list_statements(self, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> schemas.StatementPage:
        """Imported statements, newest first, with their balances and the lines whose money is not yet assigned."""
        return await services.list_statements(limit=limit, cursor=cursor)

    @post(
        "/lines/{line_id:uuid}/assign",
        operation_id="assignBankLine",
        guards=[requires(Role.coop_accountant)],
        status_code=HTTP_200_OK,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def assign(
        self,
        request: Request[Principal, Any, Any],
        line_id: FromPath[UUID],
        data: JSONBody[schemas.AssignCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.BankLine]:
        """Assign a line's unallocated money to a settlement (the consumer's side, or the provider's for a payout)."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.assign_line(line_id, data, Actor.of(request.user)),
            status_code=HTTP_200_OK,
        )


class OpenItemController(Controller):
    """Open items: receivables not yet paid and payables not yet paid out, by age."""

    path = "/api/v1/open-items"
    tags = ["reconciliation"]

    @get(operation_id="listOpenItems", guards=[requires(*OPEN_ITEM_READERS)], responses=problems(*AUTHENTICATED, 404))
    async def open_items(
        self, request: Request[Principal, Any, Any], member: MemberFilter = None, as_of: AsOf = None
    ) -> schemas.OpenItems:
        """Open receivables and payables with age buckets 0–30, 31–60, 61–90 and over 90 days."""
        return await services.open_items(request.user, member=member, as_of=as_of)


class SettlementPaymentController(Controller):
    """The payment state of a settlement, next to the settlement itself."""

    path = "/api/v1/settlements"
    tags = ["reconciliation"]

    @get(
        "/{number:str}/payments",
        operation_id="getSettlementPayments",
        guards=[requires(*OPEN_ITEM_READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def payments(self, request: Request[Principal, Any, Any], number: NumberPath) -> schemas.SettlementPayments:
        """What the consumer has paid and what was paid out to the provider, each amount with its source."""
        return await payment_state.of_settlement(number, request.user)


PAYMENTS_RESPONSE = ResponseSpec(
    data_container=bytes,
    media_type=sepa.MEDIA_TYPE,
    description="A SEPA credit transfer file (pain.001.001.09) from the clearing account, one transfer per payee.",
)


class NettingRunController(Controller):
    """Netting runs: offset members' payables against their receivables, propose payouts, export them as SEPA."""

    path = "/api/v1/netting-runs"
    tags = ["reconciliation"]

    @post(
        operation_id="startNettingRun",
        guards=[requires(Role.coop_accountant)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 409),
    )
    async def create(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[netting.NettingRunCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[netting.NettingRunOut]:
        """Net every member's open items as of a day (booked), and propose the fewest payouts to providers."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: netting.create_run(data, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
        )

    @get(
        "/{run_id:uuid}/payments.xml",
        operation_id="getNettingRunPayments",
        guards=[requires(Role.coop_admin, Role.coop_accountant, Role.auditor)],
        media_type=sepa.MEDIA_TYPE,
        responses={**problems(*AUTHENTICATED, 404, 409), 200: PAYMENTS_RESPONSE},
    )
    async def payments(self, run_id: FromPath[UUID]) -> Response[bytes]:
        """The run's payouts as a SEPA pain.001 file; payees without valid bank details are left out."""
        content = await sepa.payments_xml(run_id)
        return Response(
            content,
            media_type=sepa.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="netting-{run_id}.xml"'},
        )


class ReconciliationController(Controller):
    """The reconciliation report of a period: documents, ledger, bank lines and statements compared."""

    path = "/api/v1/reconciliation"
    tags = ["reconciliation"]

    @get(
        "/{period:str}",
        operation_id="getReconciliationReport",
        guards=[requires(*OPEN_ITEM_READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def get_report(
        self, request: Request[Principal, Any, Any], period: PeriodPath, member: ReportMember = None
    ) -> report.ReconciliationReport:
        """Every settlement of the month against its ledger entry, payments against bank lines, statements
        against the ledger's bank account; each difference listed."""
        return await report.report(request.user, period, member=member)
