"""The rules of the members context: admission, profile, bank details, status, users and tokens.

Every command runs in one transaction and writes its audit event in it. Tenancy: users and tokens of another
member answer ``NotFound`` (the member directory itself is public to every authenticated user).

Bank lines are matched to members by the payer's IBAN and payouts go to a member's IBAN, so an IBAN belongs to
one member only (in code and in the database), and a member's own admin can only propose a new one: it waits as
``pending_iban`` until the cooperative's admin confirms it. A refusal says that the IBAN is in use, never by whom.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import ledger
from marketplace.audit import services as audit_services
from marketplace.auth import (
    COOP_ROLES,
    Actor,
    Principal,
    Role,
    hash_token,
    new_token,
)
from marketplace.clock import now
from marketplace.db import is_integrity_error, transaction
from marketplace.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
)
from marketplace.events import counters
from marketplace.events.services import emit
from marketplace.members import schemas
from marketplace.members.identifiers import (
    bic_error,
    iban_error,
    leitweg_id_error,
    normalise_iban,
    normalise_leitweg_id,
)
from marketplace.members.stewardship import ensure_manages, ensure_may_grant, parse_roles
from marketplace.members.tables import ApiToken, Member, User
from marketplace.pagination import decode_cursor, encode_cursor

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

#: Life cycle of a member: transition → (states it may start from, state it ends in).
MEMBER_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "suspend": (frozenset({"active"}), "suspended"),
    "reinstate": (frozenset({"suspended"}), "active"),
    "leave": (frozenset({"active", "suspended"}), "departed"),
}
_PROFILE_FIELDS = ("name", "state", "leitweg_id", "contact_email", "iban", "bic", "account_holder")
#: What a member's own member_admin may change; name and federal state are the cooperative's to change.
_SELF_SERVICE_FIELDS = frozenset({"leitweg_id", "contact_email", "iban", "bic", "account_holder"})
#: The answer to an IBAN that another member holds (confirmed or pending); it names no member.
IBAN_IN_USE = "This IBAN is already in use by another member."
#: The columns of a change of IBAN waiting for confirmation, with none waiting.
_NO_PENDING_IBAN: dict[str, Any] = {"pending_iban": None, "pending_iban_by": None, "pending_iban_at": None}


def _format_roles(roles: frozenset[Role] | list[Role]) -> str:
    return ",".join(sorted(set(roles)))


# --- members --------------------------------------------------------------------------------------------


def _member_out(row: dict[str, Any], *, with_bank: bool) -> schemas.Member:
    return schemas.Member(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        state=row["state"],
        leitweg_id=row["leitweg_id"],
        contact_email=row["contact_email"],
        status=row["status"],
        version=row["version"],
        admitted_at=row["admitted_at"],
        left_at=row["left_at"],
        iban=row["iban"] if with_bank else None,
        bic=row["bic"] if with_bank else None,
        account_holder=row["account_holder"] if with_bank else None,
        pending_iban=row["pending_iban"] if with_bank else None,
        pending_iban_by=row["pending_iban_by"] if with_bank else None,
        pending_iban_at=row["pending_iban_at"] if with_bank else None,
    )


def _sees_bank_details(viewer: Principal | None, member_id: UUID) -> bool:
    return viewer is None or viewer.sees_all_members or viewer.member_id == member_id


async def _member_row(code: str) -> dict[str, Any]:
    row = await Member.select().where(Member.code == code).first()
    if row is None:
        raise NotFound(f"There is no member with the code {code!r}.")
    return row


async def list_members(viewer: Principal, *, limit: int, cursor: str | None) -> schemas.MemberPage:
    """The member directory, ordered by code."""
    query = Member.select().order_by(Member.code).limit(limit + 1)
    key = decode_cursor(cursor, 1)
    if key is not None:
        query = query.where(Member.code > key[0])
    rows = await query
    items = [_member_out(row, with_bank=_sees_bank_details(viewer, row["id"])) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].code) if len(rows) > limit else None
    return schemas.MemberPage(items=items, next_cursor=next_cursor)


async def get_member(code: str, viewer: Principal | None) -> schemas.Member:
    """One member's profile."""
    row = await _member_row(code)
    return _member_out(row, with_bank=_sees_bank_details(viewer, row["id"]))


def _profile_errors(values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    checks = {"leitweg_id": leitweg_id_error, "iban": iban_error, "bic": bic_error}
    for field, check in checks.items():
        value = values.get(field)
        if value:
            message = check(value)
            if message:
                errors.append(FieldError(field=field, message=message))
    email = values.get("contact_email")
    if email and not _EMAIL.match(email):
        errors.append(FieldError(field="contact_email", message="not an e-mail address"))
    return errors


def _normalise_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Trim and normalise what people type; an empty string clears an optional field."""
    normalised: dict[str, Any] = {}
    for field, value in values.items():
        if isinstance(value, str):
            value = value.strip()
            if field == "leitweg_id":
                value = normalise_leitweg_id(value)
            elif field in ("iban", "bic"):
                value = normalise_iban(value)
            elif field == "contact_email":
                value = value.lower()
            if value == "" and field not in ("name", "state"):
                value = None
        normalised[field] = value
    return normalised


def _raise_if_invalid(values: dict[str, Any]) -> None:
    errors = _profile_errors(values)
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


def _iban_in_use() -> Conflict:
    return Conflict(IBAN_IN_USE, errors=[FieldError(field="iban", message="already in use by another member")])


async def _refuse_ibans_of_others(values: dict[str, Any], member_id: UUID | None) -> None:
    """Refuse an IBAN or pending IBAN among ``values`` that a member other than ``member_id`` holds."""
    wanted = [values[key] for key in ("iban", "pending_iban") if values.get(key)]
    if not wanted:
        return
    query = Member.exists().where(Member.iban.is_in(wanted) | Member.pending_iban.is_in(wanted))
    if member_id is not None:
        query = query.where(Member.id != member_id)
    if await query:
        raise _iban_in_use()


#: The unique indexes and the trigger that keep an IBAN to one member (the migration of 2026-12-03T20:19).
_IBAN_CONSTRAINTS = ("members_iban_unique", "members_pending_iban_unique", "members_iban_held_once")


def _is_iban_violation(exc: BaseException) -> bool:
    """True when the database refused an IBAN that another member holds.

    SQLite names the index or trigger in the message, asyncpg in ``constraint_name``.
    """
    named = f"{exc} {getattr(exc, 'constraint_name', '')}"
    return is_integrity_error(exc) and any(name in named for name in _IBAN_CONSTRAINTS)


def _iban_proposal(row: dict[str, Any], iban: str | None, actor: Actor) -> dict[str, Any]:
    """What a member's own change of IBAN writes: a pending IBAN, or the withdrawal of the pending one.

    Clearing the IBAN or giving the confirmed one again withdraws a pending change; the confirmed IBAN itself
    is changed or removed by the cooperative's admin only.
    """
    if iban is None or iban == row["iban"]:
        return dict(_NO_PENDING_IBAN) if row["pending_iban"] is not None else {}
    if iban == row["pending_iban"]:
        return {}
    return {"pending_iban": iban, "pending_iban_by": actor.label, "pending_iban_at": now()}


async def _announce(event_type: str, row: dict[str, Any]) -> None:
    """Tell the member and the cooperative's office (whose admin confirms) about a change of bank details."""
    coop = await Member.select(Member.id).where(Member.kind == Member.Kind.cooperative).first()
    recipients = [row["id"]] if coop is None else [row["id"], coop["id"]]
    await emit(event_type, row["id"], recipients, {"member": row["code"]})


async def admit_member(data: schemas.MemberCreate, actor: Actor) -> schemas.Member:
    """Admit a public body; its code is permanent."""
    values = _normalise_profile(
        {
            field: getattr(data, field)
            for field in ("name", "leitweg_id", "contact_email", "iban", "bic", "account_holder")
        }
    )
    _raise_if_invalid(values)
    try:
        return await _admit(data, values, actor)
    except Exception as exc:
        if _is_iban_violation(exc):  # another admission took the IBAN at the same moment
            raise _iban_in_use() from exc
        raise


async def _admit(data: schemas.MemberCreate, values: dict[str, Any], actor: Actor) -> schemas.Member:
    moment = now()
    member_id = uuid.uuid4()
    async with transaction():
        if await Member.exists().where(Member.code == data.code):
            raise Conflict(f"A member with the code {data.code} already exists.")
        if data.kind == Member.Kind.cooperative and await Member.exists().where(Member.kind == Member.Kind.cooperative):
            raise Conflict("The cooperative office is already a member; there is only one.")
        await _refuse_ibans_of_others(values, None)
        await Member.insert(
            Member(
                id=member_id,
                code=data.code,
                kind=data.kind,
                state=data.state,
                status=Member.Status.active,
                version=1,
                admitted_at=moment,
                updated_at=moment,
                **values,
            )
        )
        # The ledger accounts open with the admission, in its transaction (ledger.md). The cooperative's own
        # accounts are opened with every admission (idempotent), so that they exist whoever is admitted first.
        await ledger.open_standard_accounts(opened_on=moment.date())
        await ledger.open_member_accounts(data.code, opened_on=moment.date())
        row = await _member_row(data.code)
        member = _member_out(row, with_bank=True)
        await audit_services.record(
            actor,
            action="member.admitted",
            subject_type="member",
            subject_id=member_id,
            member_id=member_id,
            after=_audit_view(row),
        )
    return member


def _audit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("code", "status", "version", *_PROFILE_FIELDS, "pending_iban")}


def _check_if_match(row: dict[str, Any], if_match: int | None) -> None:
    if if_match is not None and if_match != row["version"]:
        raise PreconditionFailed(
            f"The member {row['code']} is at version {row['version']}, not {if_match}; read it again.",
            state=row["status"],
        )


async def _write_member(
    row: dict[str, Any],
    changes: dict[str, Any],
    if_match: int | None,
) -> dict[str, Any]:
    """Apply ``changes`` if the row is still at the version read (or the one the client named)."""
    _check_if_match(row, if_match)
    changes = {**changes, "version": row["version"] + 1, "updated_at": now()}
    updated = (
        await Member.update({getattr(Member, key): value for key, value in changes.items()})
        .where((Member.id == row["id"]) & (Member.version == row["version"]))
        .returning(*Member.all_columns())
    )
    if not updated:
        raise PreconditionFailed(f"The member {row['code']} was changed at the same time; read it again.")
    return dict(updated[0])


async def update_member(
    code: str, data: schemas.MemberUpdate, viewer: Principal, if_match: int | None
) -> schemas.Member:
    """Change a member's profile: the cooperative's admin any field, the member's own admin its own details.

    The cooperative's admin changes the IBAN at once (dropping a change waiting for confirmation); the member's
    own admin proposes one (``pending_iban``), which ``confirm_bank_details`` makes the IBAN in use.
    """
    given = {field: getattr(data, field) for field in _PROFILE_FIELDS if getattr(data, field) is not None}
    changes = _normalise_profile(given)
    _raise_if_invalid(changes)
    try:
        return await _update(code, changes, viewer, if_match)
    except Exception as exc:
        if _is_iban_violation(exc):  # another member took the IBAN at the same moment: the database decided
            raise _iban_in_use() from exc
        raise


async def _update(code: str, changes: dict[str, Any], viewer: Principal, if_match: int | None) -> schemas.Member:
    async with transaction():
        row = await _member_row(code)
        if not viewer.has(Role.coop_admin):
            if not (viewer.has(Role.member_admin) and viewer.member_id == row["id"]):
                raise Forbidden("Only the cooperative's admin or the member's own admin may change this profile.")
            refused = sorted(set(changes) - _SELF_SERVICE_FIELDS)
            if refused:
                raise Forbidden(f"Only the cooperative's admin may change: {', '.join(refused)}.")
        if row["status"] == Member.Status.departed:
            raise InvalidTransition(f"The member {code} has left; its profile is closed.", state=row["status"])
        if "iban" in changes and not viewer.has(Role.coop_admin):
            changes.update(_iban_proposal(row, changes.pop("iban"), Actor.of(viewer)))
        elif "iban" in changes and row["pending_iban"] is not None:
            changes.update(_NO_PENDING_IBAN)
        if not changes:
            return _member_out(row, with_bank=True)
        await _refuse_ibans_of_others(changes, row["id"])
        updated = await _write_member(row, changes, if_match)
        await audit_services.record(
            Actor.of(viewer),
            action="member.updated",
            subject_type="member",
            subject_id=row["id"],
            member_id=row["id"],
            before=_audit_view(row),
            after=_audit_view(updated),
        )
        if changes.get("pending_iban"):
            await _announce("member.bank_details_proposed", row)
    return _member_out(updated, with_bank=True)


async def confirm_bank_details(code: str, iban: str, actor: Actor, *, if_match: int | None) -> schemas.Member:
    """Make a member's pending IBAN the one in use (the cooperative's admin confirms it).

    From now on bank lines are matched by it and payouts go to it. ``iban`` repeats the pending IBAN, so that what
    the cooperative checked with the member is what it confirms.
    """
    wanted = normalise_iban(iban)
    try:
        async with transaction():
            row = await _member_row(code)
            _check_if_match(row, if_match)
            if row["status"] == Member.Status.departed:
                raise InvalidTransition(f"The member {code} has left; its profile is closed.", state=row["status"])
            if row["pending_iban"] is None:
                raise Conflict(f"The member {code} has no change of IBAN waiting for confirmation.")
            if row["pending_iban"] != wanted:
                raise Conflict(
                    f"The IBAN waiting for confirmation at {code} is not the one given; read the member again.",
                    errors=[FieldError(field="iban", message="not the pending IBAN")],
                )
            updated = await _write_member(row, {"iban": wanted, **_NO_PENDING_IBAN}, if_match)
            await audit_services.record(
                actor,
                action="member.bank_details_confirmed",
                subject_type="member",
                subject_id=row["id"],
                member_id=row["id"],
                before={
                    "iban": row["iban"],
                    "pending_iban": row["pending_iban"],
                    "proposed_by": row["pending_iban_by"],
                },
                after={"iban": wanted},
            )
            await _announce("member.bank_details_confirmed", row)
    except Exception as exc:
        if _is_iban_violation(exc):
            raise _iban_in_use() from exc
        raise
    return _member_out(updated, with_bank=True)


async def change_member_status(
    code: str, transition: str, actor: Actor, *, reason: str | None, if_match: int | None
) -> schemas.Member:
    """Suspend, reinstate or end a membership (the map ``MEMBER_TRANSITIONS`` says from where)."""
    sources, target = MEMBER_TRANSITIONS[transition]
    async with transaction():
        row = await _member_row(code)
        if row["kind"] == Member.Kind.cooperative:
            raise InvalidTransition("The cooperative office itself cannot be suspended or leave.", state=row["status"])
        if row["status"] not in sources:
            raise InvalidTransition(
                f"A member that is {row['status']} cannot {transition}.",
                state=row["status"],
            )
        changes: dict[str, Any] = {"status": target}
        if target == Member.Status.departed:
            changes["left_at"] = now()
        updated = await _write_member(row, changes, if_match)
        await counters.bump(counters.ACCESS)
        await audit_services.record(
            actor,
            action=f"member.{target}" if target != "active" else "member.reinstated",
            subject_type="member",
            subject_id=row["id"],
            member_id=row["id"],
            before={"status": row["status"]},
            after={"status": target},
            reason=reason,
        )
    return _member_out(updated, with_bank=True)


# --- users ----------------------------------------------------------------------------------------------


def _user_out(row: dict[str, Any], member_code: str) -> schemas.User:
    return schemas.User(
        id=row["id"],
        member=member_code,
        email=row["email"],
        name=row["name"],
        roles=sorted(parse_roles(row["roles"])),
        active=row["active"],
        created_at=row["created_at"],
    )


async def _managed_member(code: str, viewer: Principal) -> dict[str, Any]:
    """The member whose users ``viewer`` manages; any other member answers 404 (tenancy)."""
    row = await Member.select().where(Member.code == code).first()
    manages = row is not None and (
        viewer.has(Role.coop_admin) or (viewer.has(Role.member_admin) and viewer.member_id == row["id"])
    )
    if row is None or not manages:
        raise NotFound(f"There is no member with the code {code!r} whose users you manage.")
    return row


async def list_users(code: str, viewer: Principal, *, limit: int, cursor: str | None) -> schemas.UserPage:
    """The users of a member, by e-mail address."""
    member = await _managed_member(code, viewer)
    query = User.select().where(User.member == member["id"]).order_by(User.email).limit(limit + 1)
    key = decode_cursor(cursor, 1)
    if key is not None:
        query = query.where(User.email > key[0])
    rows = await query
    items = [_user_out(row, member["code"]) for row in rows[:limit]]
    return schemas.UserPage(items=items, next_cursor=encode_cursor(items[-1].email) if len(rows) > limit else None)


def check_roles_fit(member_kind: str, roles: frozenset[Role] | set[Role]) -> None:
    """The cooperative's roles belong to users of the cooperative office only."""
    coop_roles = sorted(set(roles) & COOP_ROLES)
    if coop_roles and member_kind != Member.Kind.cooperative:
        raise InvalidInput(
            f"The roles {', '.join(coop_roles)} belong to the cooperative office's users only.",
            errors=[FieldError(field="roles", message="cooperative roles need a user of the cooperative office")],
        )


async def _insert_user(
    member: dict[str, Any], email: str, name: str, roles: frozenset[Role], actor: Actor
) -> dict[str, Any]:
    email = email.strip().lower()
    if await User.exists().where(User.email == email):
        raise Conflict(f"A user with the e-mail address {email} already exists.")
    user_id = uuid.uuid4()
    await User.insert(
        User(
            id=user_id,
            member=member["id"],
            email=email,
            name=name.strip(),
            roles=_format_roles(roles),
            active=True,
            created_at=now(),
        )
    )
    row = await User.select().where(User.id == user_id).first()
    assert row is not None
    await audit_services.record(
        actor,
        action="user.created",
        subject_type="user",
        subject_id=user_id,
        member_id=member["id"],
        after={"email": email, "roles": row["roles"], "member": member["code"]},
    )
    return row


async def add_user(code: str, data: schemas.UserCreate, viewer: Principal) -> schemas.User:
    """Create a user of a member with roles; only the cooperative's admin grants the cooperative's roles."""
    roles = frozenset(data.roles)
    async with transaction():
        member = await _managed_member(code, viewer)
        check_roles_fit(member["kind"], roles)
        ensure_may_grant(viewer, roles)
        row = await _insert_user(member, data.email, data.name, roles, Actor.of(viewer))
    return _user_out(row, member["code"])


async def update_user(user_id: UUID, data: schemas.UserUpdate, viewer: Principal) -> schemas.User:
    """Rename a user, change its roles, deactivate or reactivate it (only as its manager, never oneself).

    Roles and the active flag decide what the user's tokens and web sessions may do: every request reads them, so
    a change takes effect on the user's next request; open event streams end within seconds (``ACCESS``).
    """
    async with transaction():
        row = await _managed_user(user_id, viewer, what="roles and status", own_allowed=False)
        before = {"name": row["name"], "roles": row["roles"], "active": row["active"]}
        changes: dict[str, Any] = {}
        if data.name is not None and data.name.strip() != row["name"]:
            changes["name"] = data.name.strip()
        roles = parse_roles(row["roles"])
        if data.roles is not None:
            wanted = frozenset(data.roles)
            check_roles_fit(row["member_kind"], wanted)
            ensure_may_grant(viewer, wanted - roles)
            if wanted != roles:
                changes["roles"] = _format_roles(wanted)
        if data.active is not None and data.active != row["active"]:
            changes["active"] = data.active
        if not changes:
            return _user_out(row, row["member_code"])
        # Never oneself: so the last active coop_admin can never lock the cooperative out of its own exchange.
        if row["id"] == viewer.user_id and ("roles" in changes or "active" in changes):
            raise Conflict("You cannot change your own roles or deactivate yourself; ask another admin.")
        await User.update({getattr(User, key): value for key, value in changes.items()}).where(User.id == row["id"])
        await counters.bump(counters.ACCESS)
        after = {**before, **changes}
        action = "user.updated"
        if changes.keys() == {"active"}:
            action = "user.reactivated" if changes["active"] else "user.deactivated"
        await audit_services.record(
            Actor.of(viewer),
            action=action,
            subject_type="user",
            subject_id=row["id"],
            member_id=row["member"],
            before=before,
            after=after,
        )
    return _user_out({**row, **changes}, row["member_code"])


async def get_me(viewer: Principal) -> schemas.Me:
    """The caller's user and member."""
    user = await User.select().where(User.id == viewer.user_id).first()
    if user is None:
        raise NotFound("Your user no longer exists.")
    member = await get_member(viewer.member_code, viewer)
    return schemas.Me(user=_user_out(user, viewer.member_code), member=member, roles=sorted(viewer.roles))


# --- tokens ---------------------------------------------------------------------------------------------


def _token_out(row: dict[str, Any]) -> schemas.Token:
    return schemas.Token(
        id=row["id"],
        user_id=row["owner"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


async def _managed_user(user_id: UUID, viewer: Principal, *, what: str, own_allowed: bool) -> dict[str, Any]:
    """A user whose ``what`` ``viewer`` manages (the rule is ``stewardship.ensure_manages``)."""
    row = (
        await User.select(
            *User.all_columns(), User.member.code.as_alias("member_code"), User.member.kind.as_alias("member_kind")
        )
        .where(User.id == user_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no such user whose {what} you manage.")
    ensure_manages(
        viewer,
        user_id=row["id"],
        member_id=row["member"],
        roles=parse_roles(row["roles"]),
        what=what,
        own_allowed=own_allowed,
    )
    return row


async def _token_owner(user_id: UUID, viewer: Principal) -> dict[str, Any]:
    """A user whose tokens ``viewer`` manages: itself, or as its manager."""
    return await _managed_user(user_id, viewer, what="tokens", own_allowed=True)


async def _insert_token(
    user: dict[str, Any], name: str, expires_at: datetime | None, actor: Actor
) -> schemas.TokenCreated:
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput(
                "expires_at needs a time zone offset, e.g. 2027-01-01T00:00:00+01:00.",
                errors=[FieldError(field="expires_at", message="missing time zone offset")],
            )
        if expires_at <= now():
            raise InvalidInput(
                "expires_at must lie in the future.",
                errors=[FieldError(field="expires_at", message="lies in the past")],
            )
    token = new_token()
    token_id = uuid.uuid4()
    moment = now()
    await ApiToken.insert(
        ApiToken(
            id=token_id,
            owner=user["id"],
            name=name.strip(),
            token_hash=hash_token(token),
            prefix=token[:12],
            created_at=moment,
            expires_at=expires_at,
        )
    )
    await audit_services.record(
        actor,
        action="token.created",
        subject_type="token",
        subject_id=token_id,
        member_id=user["member"],
        after={"name": name, "user": user["email"], "prefix": token[:12]},
    )
    return schemas.TokenCreated(
        id=token_id,
        user_id=user["id"],
        name=name.strip(),
        prefix=token[:12],
        created_at=moment,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
        token=token,
    )


async def create_token(user_id: UUID, data: schemas.TokenCreate, viewer: Principal) -> schemas.TokenCreated:
    """A new token for a user; the answer is the only place the token ever appears."""
    async with transaction():
        user = await _token_owner(user_id, viewer)
        return await _insert_token(user, data.name, data.expires_at, Actor.of(viewer))


async def list_tokens(user_id: UUID, viewer: Principal, *, limit: int, cursor: str | None) -> schemas.TokenPage:
    """A user's tokens, without their secrets, newest first."""
    user = await _token_owner(user_id, viewer)
    query = ApiToken.select().where(ApiToken.owner == user["id"]).order_by(ApiToken.id).limit(limit + 1)
    key = decode_cursor(cursor, 1)
    if key is not None:
        try:
            query = query.where(ApiToken.id > UUID(key[0]))
        except ValueError:
            query = query.where(ApiToken.id.is_null())
    rows = await query
    items = [_token_out(row) for row in rows[:limit]]
    return schemas.TokenPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def revoke_token(token_id: UUID, viewer: Principal) -> None:
    """Revoke a token at once; revoking it again changes nothing."""
    async with transaction():
        row = await ApiToken.select().where(ApiToken.id == token_id).first()
        if row is None:
            raise NotFound("There is no such token.")
        user = await _token_owner(row["owner"], viewer)
        if row["revoked_at"] is not None:
            return
        await ApiToken.update({ApiToken.revoked_at: now()}).where(ApiToken.id == token_id)
        await counters.bump(counters.ACCESS)
        await audit_services.record(
            Actor.of(viewer),
            action="token.revoked",
            subject_type="token",
            subject_id=token_id,
            member_id=user["member"],
            before={"name": row["name"], "prefix": row["prefix"]},
        )


# --- operators' commands (CLI and demonstration data) ---------------------------------------------------


async def ensure_user(
    member_code: str,
    roles: frozenset[Role],
    actor: Actor,
    *,
    email: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A user of the member holding exactly ``roles``: the one with that e-mail, or any such user, or a new one."""
    async with transaction():
        member = await _member_row(member_code)
        check_roles_fit(member["kind"], roles)
        query = User.select().where(User.member == member["id"])
        if email is not None:
            query = query.where(User.email == email.lower())
        for row in await query.order_by(User.created_at):
            if parse_roles(row["roles"]) == roles and row["active"]:
                return dict(row)
        label = "-".join(sorted(roles)).replace("_", "-")
        email = email or f"{label}@{member_code.lower()}.marketplace.invalid"
        return await _insert_user(member, email, name or f"{member['name']} ({label})", roles, actor)


async def issue_token(
    member_code: str, roles: frozenset[Role], actor: Actor, *, name: str = "cli", email: str | None = None
) -> schemas.TokenCreated:
    """Create (or reuse) a user of ``member_code`` with ``roles`` and give it a new token."""
    async with transaction():
        user = await ensure_user(member_code, roles, actor, email=email)
        return await _insert_token(user, name, None, actor)


async def revoke_tokens_named(user_id: UUID, name: str, actor: Actor) -> int:
    """Revoke every live token of a user with this name (the demonstration tokens of an earlier run)."""
    async with transaction():
        rows = await ApiToken.select(ApiToken.id).where(
            (ApiToken.owner == user_id) & (ApiToken.name == name) & ApiToken.revoked_at.is_null()
        )
        if rows:
            await counters.bump(counters.ACCESS)
        for row in rows:
            await ApiToken.update({ApiToken.revoked_at: now()}).where(ApiToken.id == row["id"])
            user = await User.select(User.member).where(User.id == user_id).first()
            await audit_services.record(
                actor,
                action="token.revoked",
                subject_type="token",
                subject_id=row["id"],
                member_id=user["member"] if user else None,
                reason="replaced by a new demonstration token",
            )
    return len(rows)
