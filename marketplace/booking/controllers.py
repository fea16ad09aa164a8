"""HTTP endpoints of requests, agreements and usage."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from marketplace.auth import Actor, Principal, Role, requires
from marketplace.booking import schemas, services
from marketplace.errors import AUTHENTICATED, problems
from marketplace.idempotency.params import IdempotencyKeyHeader
from marketplace.idempotency.services import fingerprint, run_once
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit

RequestSide = Annotated[
    Literal["buyer", "provider"] | None, QueryParameter(description="buyer: your requests; provider: for your offers")
]
AgreementSide = Annotated[Literal["consumer", "provider"] | None, QueryParameter(description="Which side you are on.")]
RequestStatus = Annotated[Literal["submitted", "accepted", "declined", "withdrawn", "expired"] | None, QueryParameter()]
AgreementStatus = Annotated[Literal["active", "terminated", "expired"] | None, QueryParameter()]


class RequestController(Controller):
    """Requests: a buyer submits, the provider accepts or declines, the buyer may withdraw."""

    path = "/api/v1/requests"
    tags = ["booking"]

    @post(
        operation_id="submitRequest",
        guards=[requires(Role.buyer)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def submit(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.RequestCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.ServiceRequest]:
        """Request a published offer of another member."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.submit_request(data, request.user),
            status_code=HTTP_201_CREATED,
        )

    @get(operation_id="listRequests", responses=problems(*AUTHENTICATED))
    async def list_requests(
        self,
        request: Request[Principal, Any, Any],
        side: RequestSide = None,
        status: RequestStatus = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.RequestPage:
        """Your member's requests (as buyer or as provider), newest first."""
        return await services.list_requests(request.user, side=side, status=status, limit=limit, cursor=cursor)

    @get("/{request_id:uuid}", operation_id="getRequest", responses=problems(*AUTHENTICATED, 404))
    async def get_request(
        self, request: Request[Principal, Any, Any], request_id: FromPath[UUID]
    ) -> schemas.ServiceRequest:
        """One request of your member."""
        return await services.get_request(request_id, request.user)

    @post(
        "/{request_id:uuid}/accept",
        operation_id="acceptRequest",
        guards=[requires(Role.provider)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def accept(
        self,
        request: Request[Principal, Any, Any],
        request_id: FromPath[UUID],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Agreement]:
        """Accept a request for your offer: answers the new agreement (409 when capacity is exhausted)."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, None),
            lambda: services.accept_request(request_id, request.user),
            status_code=HTTP_201_CREATED,
        )

    @post(
        "/{request_id:uuid}/decline",
        operation_id="declineRequest",
        guards=[requires(Role.provider)],
        status_code=HTTP_200_OK,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def decline(
        self, request: Request[Principal, Any, Any], request_id: FromPath[UUID], data: JSONBody[schemas.Decline]
    ) -> schemas.ServiceRequest:
        """Decline a request for your offer, with a reason."""
        return await services.decline_request(request_id, data.reason, request.user)

    @post(
        "/{request_id:uuid}/withdraw",
        operation_id="withdrawRequest",
        guards=[requires(Role.buyer)],
        status_code=HTTP_200_OK,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def withdraw(
        self, request: Request[Principal, Any, Any], request_id: FromPath[UUID]
    ) -> schemas.ServiceRequest:
        """Withdraw your member's unanswered request."""
        return await services.withdraw_request(request_id, request.user)


class AgreementController(Controller):
    """Agreements: read, terminate, record existing ones, report usage."""

    path = "/api/v1/agreements"
    tags = ["booking"]

    @post(
        operation_id="importAgreement",
        guards=[requires(Role.coop_admin)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def import_agreement(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.AgreementImport],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Agreement]:
        """Record an agreement made before the exchange existed (marked as imported)."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.import_agreement(data, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
        )

    @get(operation_id="listAgreements", responses=problems(*AUTHENTICATED))
    async def list_agreements(
        self,
        request: Request[Principal, Any, Any],
        side: AgreementSide = None,
        status: AgreementStatus = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.AgreementPage:
        """Your member's agreements (as consumer or provider), newest first."""
        return await services.list_agreements(request.user, side=side, status=status, limit=limit, cursor=cursor)

    @get("/{agreement_id:uuid}", operation_id="getAgreement", responses=problems(*AUTHENTICATED, 404))
    async def get_agreement(
        self, request: Request[Principal, Any, Any], agreement_id: FromPath[UUID]
    ) -> schemas.Agreement:
        """One agreement: reference, terms, parties, dates."""
        return await services.get_agreement(agreement_id, request.user)

    @post(
        "/{agreement_id:uuid}/terminate",
        operation_id="terminateAgreement",
        guards=[requires(Role.buyer, Role.provider)],
        status_code=HTTP_200_OK,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def terminate(
        self,
        request: Request[Principal, Any, Any],
        agreement_id: FromPath[UUID],
        data: JSONBody[schemas.Terminate | None] = None,
    ) -> schemas.Agreement:
        """End the agreement at a month's end (the earliest the notice period allows, unless you name one)."""
        return await services.terminate_agreement(agreement_id, data.effective_date if data else None, request.user)

    @post(
        "/{agreement_id:uuid}/usage",
        operation_id="reportUsage",
        guards=[requires(Role.provider)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def report_usage(
        self, request: Request[Principal, Any, Any], agreement_id: FromPath[UUID], data: JSONBody[schemas.UsageCreate]
    ) -> Response[schemas.Usage]:
        """Report a metered month (201), or correct it while it is unsettled (200)."""
        usage, created = await services.report_usage(agreement_id, data, request.user)
        return Response(usage, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("/{agreement_id:uuid}/usage", operation_id="listUsage", responses=problems(*AUTHENTICATED, 404))
    async def list_usage(
        self, request: Request[Principal, Any, Any], agreement_id: FromPath[UUID]
    ) -> schemas.UsageList:
        """The usage reports of an agreement."""
        return await services.list_usage(agreement_id, request.user)
