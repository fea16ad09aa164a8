"""HTTP endpoints of settlement runs and settlements: thin, each parses, calls one service and answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from marketplace.auth import Actor, Principal, Role, requires
from marketplace.clock import today
from marketplace.errors import AUTHENTICATED, problems
from marketplace.idempotency.params import IdempotencyKeyHeader
from marketplace.idempotency.services import REPLAYED_HEADER
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit
from marketplace.periods import FIRST_PERIOD, LAST_PERIOD, PERIOD_PATTERN
from marketplace.settlement import documents, jobs, schemas, services

#: Who reads settlements: the cooperative's roles all of them, a member's accountant its member's (either side).
READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor, Role.accountant)
#: Who reads settlement runs: the cooperative's roles.
RUN_READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor)

PDF = "application/pdf"
XML = "application/xml"

NumberPath = Annotated[
    str, PathParameter(pattern=r"^S-\d{4}-\d{6}$", max_length=13, description="Settlement number S-YYYY-NNNNNN.")
]
PeriodFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=PERIOD_PATTERN, max_length=7, description=f"A month, YYYY-MM, from {FIRST_PERIOD} to {LAST_PERIOD}."
    ),
]
MemberFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Z][A-Z0-9-]{0,31}$",
        max_length=32,
        description="Settlements this member is a party of; a member's accountant may give only its own.",
    ),
]
DOCUMENT_RESPONSE = ResponseSpec(
    data_container=bytes,
    media_type=PDF,
    description="The settlement as a PDF (default), or as an XRechnung CII invoice with Accept: application/xml.",
)


@dataclass
class DocumentOperation(Operation):
    """The document answers a PDF or, by ``Accept``, XML: both media types are declared for 200."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            binary = Schema(type="string", content_media_type=XML)  # type: ignore[arg-type]
            ok.content = {**(ok.content or {}), XML: OpenAPIMediaType(schema=binary)}


class SettlementRunController(Controller):
    """Settlement runs: settle a month that has ended, and follow the run."""

    path = "/api/v1/settlement-runs"
    tags = ["settlement"]

    @post(
        operation_id="startSettlementRun",
        guards=[requires(Role.coop_accountant)],
        status_code=HTTP_202_ACCEPTED,
        responses=problems(*AUTHENTICATED, 409),
        response_headers=[
            ResponseHeader(name="Location", description="Where to follow the run.", documentation_only=True)
        ],
    )
    async def start(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.RunCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.SettlementRun]:
        """Settle a month that has ended: answers 202 with the run (queued or running); follow it at Location.

        The run reports its progress and, when done, its counts, totals and missing usage reports.
        """
        dispatcher: jobs.RunDispatcher = request.app.state.settlement_runs
        run, created = await jobs.start_run(
            data.period, Actor.of(request.user), idempotency_key=idempotency_key, dispatcher=dispatcher
        )
        headers = {"Location": f"{self.path}/{run.id}"}
        if not created:
            headers[REPLAYED_HEADER] = "true"
        return Response(run, status_code=HTTP_202_ACCEPTED, headers=headers)

    @get(
        "/{run_id:uuid}",
        operation_id="getSettlementRun",
        guards=[requires(*RUN_READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def get_run(self, run_id: FromPath[UUID]) -> schemas.SettlementRun:
        """One settlement run: status, progress, counts, totals, missing usage reports, errors."""
        return await services.get_run(run_id)


class SettlementController(Controller):
    """Settlements: read, document, reverse."""

    path = "/api/v1/settlements"
    tags = ["settlement"]

    @get(operation_id="listSettlements", guards=[requires(*READERS)], responses=problems(*AUTHENTICATED, 404))
    async def list_settlements(
        self,
        request: Request[Principal, Any, Any],
        period: PeriodFilter = None,
        member: MemberFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.SettlementPage:
        """Settlements your member is a party of (all, for the cooperative's roles), newest number first."""
        return await services.list_settlements(request.user, period=period, member=member, limit=limit, cursor=cursor)

    @get(
        "/{number:str}",
        operation_id="getSettlement",
        guards=[requires(*READERS)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def get_settlement(self, request: Request[Principal, Any, Any], number: NumberPath) -> schemas.Settlement:
        """One settlement: lines, net, tax, gross, status and ledger entry ids."""
        return await services.get_settlement(number, request.user)

    @get(
        "/{number:str}/document",
        operation_id="getSettlementDocument",
        guards=[requires(*READERS)],
        media_type=PDF,
        responses={**problems(*AUTHENTICATED, 404), 200: DOCUMENT_RESPONSE},
        operation_class=DocumentOperation,
    )
    async def document(self, request: Request[Principal, Any, Any], number: NumberPath) -> Response[bytes]:
        """The settlement as a document to file: PDF, or XRechnung (CII) XML with Accept: application/xml."""
        settlement = await services.get_settlement(number, request.user)
        parties = await services.document_parties(settlement)
        accept = request.headers.get("accept", "")
        if XML in accept or "text/xml" in accept:
            content, media_type, suffix = documents.xrechnung(settlement, parties, today()), XML, "xml"
        else:
            content, media_type, suffix = documents.pdf(settlement, parties, today()), PDF, "pdf"
        return Response(
            content,
            media_type=media_type,
            headers={"Content-Disposition": f'inline; filename="{number}.{suffix}"'},
        )

    @post(
        "/{number:str}/reverse",
        operation_id="reverseSettlement",
        guards=[requires(Role.coop_accountant)],
        status_code=HTTP_200_OK,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def reverse(
        self, request: Request[Principal, Any, Any], number: NumberPath, data: JSONBody[schemas.ReverseCreate]
    ) -> schemas.Settlement:
        """Reverse a booked settlement (reason required); its agreements can then be settled again."""
        return await services.reverse_settlement(number, data.reason, Actor.of(request.user), request.user)
