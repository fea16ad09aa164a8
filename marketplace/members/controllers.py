"""HTTP endpoints of the members context: thin, each parses, calls one service and answers a Struct."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from marketplace.auth import Actor, Principal, Role, requires
from marketplace.errors import AUTHENTICATED, problems
from marketplace.idempotency.params import IdempotencyKeyHeader
from marketplace.idempotency.services import fingerprint, run_once
from marketplace.members import passwords, schemas, services
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit
from marketplace.preconditions import IfMatch, etag, parse_if_match

CodePath = Annotated[str, PathParameter(max_length=32, description="Member code, e.g. KDZ-MZ.")]


def _etag(member: schemas.Member) -> dict[str, str]:
    return etag(member.version)


def _with_etag(member: schemas.Member) -> Response[schemas.Member]:
    return Response(member, headers=_etag(member))


class MeController(Controller):
    """The caller."""

    path = "/api/v1/me"
    tags = ["members"]

    @get(operation_id="getMe", responses=problems(*AUTHENTICATED))
    async def me(self, request: Request[Principal, Any, Any]) -> schemas.Me:
        """Who you are: user, member and roles."""
        return await services.get_me(request.user)


class MemberController(Controller):
    """The member directory, admission and membership status."""

    path = "/api/v1/members"
    tags = ["members"]

    @get(operation_id="listMembers", responses=problems(*AUTHENTICATED))
    async def list_members(
        self, request: Request[Principal, Any, Any], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> schemas.MemberPage:
        """The member directory, ordered by code."""
        return await services.list_members(request.user, limit=limit, cursor=cursor)

    @post(
        operation_id="admitMember",
        guards=[requires(Role.coop_admin)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 409),
    )
    async def admit(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[schemas.MemberCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Member]:
        """Admit a public body to the cooperative."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.admit_member(data, Actor.of(request.user)),
            status_code=HTTP_201_CREATED,
            headers=_etag,
        )

    @get("/{code:str}", operation_id="getMember", responses=problems(*AUTHENTICATED, 404))
    async def get_member(self, request: Request[Principal, Any, Any], code: CodePath) -> Response[schemas.Member]:
        """One member's profile (bank details for the member itself and the cooperative)."""
        return _with_etag(await services.get_member(code, request.user))

    @patch(
        "/{code:str}",
        operation_id="updateMember",
        guards=[requires(Role.coop_admin, Role.member_admin)],
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def update(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.MemberUpdate],
        if_match: IfMatch = None,
    ) -> Response[schemas.Member]:
        """Change a member's profile or bank details."""
        member = await services.update_member(code, data, request.user, parse_if_match(if_match))
        return _with_etag(member)

    @post(
        "/{code:str}/bank-details/confirm",
        operation_id="confirmBankDetails",
        guards=[requires(Role.coop_admin)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def confirm_bank_details(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.BankDetailsConfirm],
        if_match: IfMatch = None,
    ) -> Response[schemas.Member]:
        """Confirm the IBAN a member's admin proposed: from now on payments are matched by it and paid out to it."""
        member = await services.confirm_bank_details(
            code, data.iban, Actor.of(request.user), if_match=parse_if_match(if_match)
        )
        return _with_etag(member)

    async def _transition(
        self,
        request: Request[Principal, Any, Any],
        code: str,
        transition: str,
        data: schemas.StatusChange | None,
        if_match: str | None,
    ) -> Response[schemas.Member]:
        member = await services.change_member_status(
            code,
            transition,
            Actor.of(request.user),
            reason=data.reason if data else None,
            if_match=parse_if_match(if_match),
        )
        return _with_etag(member)

    @post(
        "/{code:str}/suspend",
        operation_id="suspendMember",
        guards=[requires(Role.coop_admin)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def suspend(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.StatusChange | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Member]:
        """Suspend a member: its users' tokens stop working at once."""
        return await self._transition(request, code, "suspend", data, if_match)

    @post(
        "/{code:str}/reinstate",
        operation_id="reinstateMember",
        guards=[requires(Role.coop_admin)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def reinstate(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.StatusChange | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Member]:
        """Reinstate a suspended member."""
        return await self._transition(request, code, "reinstate", data, if_match)

    @post(
        "/{code:str}/leave",
        operation_id="endMembership",
        guards=[requires(Role.coop_admin)],
        status_code=200,
        responses=problems(*AUTHENTICATED, 404, 409, 412),
    )
    async def leave(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.StatusChange | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Member]:
        """End a membership; the member's history stays."""
        return await self._transition(request, code, "leave", data, if_match)

    @get(
        "/{code:str}/users",
        operation_id="listMemberUsers",
        guards=[requires(Role.coop_admin, Role.member_admin)],
        responses=problems(*AUTHENTICATED, 404),
    )
    async def list_users(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.UserPage:
        """The users of a member."""
        return await services.list_users(code, request.user, limit=limit, cursor=cursor)

    @post(
        "/{code:str}/users",
        operation_id="createMemberUser",
        guards=[requires(Role.coop_admin, Role.member_admin)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def add_user(
        self,
        request: Request[Principal, Any, Any],
        code: CodePath,
        data: JSONBody[schemas.UserCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.User]:
        """Create a user of a member with roles."""
        return await run_once(
            request.user,
            idempotency_key,
            fingerprint("POST", request.url.path, data),
            lambda: services.add_user(code, data, request.user),
            status_code=HTTP_201_CREATED,
        )


class UserController(Controller):
    """Users: name, roles and whether they may act at all."""

    path = "/api/v1/users"
    tags = ["members"]

    @patch(
        "/{user_id:uuid}",
        operation_id="updateUser",
        guards=[requires(Role.coop_admin, Role.member_admin)],
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def update_user(
        self, request: Request[Principal, Any, Any], user_id: FromPath[UUID], data: JSONBody[schemas.UserUpdate]
    ) -> schemas.User:
        """Rename a user, change its roles, or deactivate it (its tokens and sessions stop working at once)."""
        return await services.update_user(user_id, data, request.user)


class TokenController(Controller):
    """API tokens of users."""

    path = "/api/v1"
    tags = ["members"]

    @post(
        "/users/{user_id:uuid}/tokens",
        operation_id="createToken",
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404),
    )
    async def create_token(
        self,
        request: Request[Principal, Any, Any],
        user_id: FromPath[UUID],
        data: JSONBody[schemas.TokenCreate],
    ) -> schemas.TokenCreated:
        """Create a token for a user (yourself, or as the member's admin); the token is shown only here."""
        return await services.create_token(user_id, data, request.user)

    @post(
        "/users/{user_id:uuid}/password-link",
        operation_id="createPasswordLink",
        guards=[requires(Role.coop_admin, Role.member_admin)],
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTHENTICATED, 404, 409),
    )
    async def create_password_link(
        self, request: Request[Principal, Any, Any], user_id: FromPath[UUID]
    ) -> schemas.PasswordLink:
        """A one-time link (valid 48 hours) with which a user of your member sets a password for the web pages."""
        token, expires_at, email = await passwords.create_password_link(user_id, request.user)
        path = f"/passwort/{token}"
        # The configured address, never the request's Host header: a forged one would send the link elsewhere.
        url = request.app.state.settings.public_url(path)
        return schemas.PasswordLink(user_id=user_id, email=email, url=url, path=path, expires_at=expires_at)

    @get("/users/{user_id:uuid}/tokens", operation_id="listTokens", responses=problems(*AUTHENTICATED, 404))
    async def list_tokens(
        self,
        request: Request[Principal, Any, Any],
        user_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.TokenPage:
        """A user's tokens, without their secrets."""
        return await services.list_tokens(user_id, request.user, limit=limit, cursor=cursor)

    @delete(
        "/tokens/{token_id:uuid}",
        operation_id="revokeToken",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(*AUTHENTICATED, 404),
    )
    async def revoke_token(self, request: Request[Principal, Any, Any], token_id: FromPath[UUID]) -> None:
        """Revoke a token; it stops working at once."""
        await services.revoke_token(token_id, request.user)
