"""Passwords for the web pages: hashing, one-time password links, sign-in with a lock-out.

Passwords are hashed with scrypt (``hashlib.scrypt``, memory-hard, a random salt per password); the stored form
``scrypt$N$r$p$salt$hash`` names its parameters so that they can be raised later. A password is set only through
a one-time link that a member's admin (or the cooperative's admin) creates: the link's token is random, shown
once, stored as its SHA-256, expires after ``LINK_LIFETIME`` and works once; a new link revokes the older ones.

Sign-in counts failed attempts per account: the ``MAX_FAILED_SIGN_INS``-th locks the account for
``LOCKOUT``. The hash is computed outside any transaction (it takes tens of milliseconds on purpose).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from marketplace.audit import services as audit_services
from marketplace.auth import Actor, Principal, Role, hash_token
from marketplace.clock import now
from marketplace.db import transaction
from marketplace.errors import FieldError, Forbidden, InvalidInput, InvalidTransition, NotFound, Unauthorized
from marketplace.members.stewardship import ensure_manages, parse_roles
from marketplace.members.tables import EndedWebSession, Member, PasswordLink, User

#: scrypt cost: 2**15 × 8 × 128 bytes = 32 MiB of memory and some 50-100 ms per hash.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10
MAX_LENGTH = 200
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
LINK_LIFETIME = timedelta(hours=48)


# --- hashing --------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """The storable hash of ``password`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison); False for a malformed hash."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM, dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the e-mail address is unknown, so that the answer takes as long as for a known one."""
    return hash_password(secrets.token_urlsafe(16))


def password_fingerprint(stored: str | None) -> str:
    """A short digest of the stored hash: sessions carry it, so that a new password ends the old sessions."""
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


def rule_violations(password: str) -> list[str]:
    """The password rules ``password`` breaks: ``too_short``, ``too_long``, ``too_simple``."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    if len(set(password)) < 4:
        problems.append("too_simple")
    return problems


def _check_rules(password: str) -> None:
    problems = rule_violations(password)
    if problems:
        raise InvalidInput(
            f"The password breaks the rules: {', '.join(problems)} (at least {MIN_LENGTH} characters, "
            f"at most {MAX_LENGTH}, at least 4 different characters).",
            errors=[FieldError(field="password", message=problem) for problem in problems],
        )


# --- password links -------------------------------------------------------------------------------------


async def create_password_link(user_id: UUID, viewer: Principal) -> tuple[str, datetime, str]:
    """A one-time link token for a user whose member ``viewer`` administers: (token, expires at, e-mail).

    The rule is ``stewardship.ensure_manages``: the cooperative's admin for any user, a member's admin for the
    users of its own member that hold none of the cooperative's roles. Earlier unused links of the user stop
    working.
    """
    async with transaction():
        row = await User.select().where(User.id == user_id).first()
        if row is None:
            raise NotFound("There is no such user whose passwords you manage.")
        ensure_manages(
            viewer, user_id=row["id"], member_id=row["member"], roles=parse_roles(row["roles"]), what="passwords"
        )
        if not row["active"]:
            raise InvalidTransition("The user has been deactivated.", state="inactive")
        token, moment = secrets.token_urlsafe(32), now()
        expires_at = moment + LINK_LIFETIME
        await PasswordLink.update({PasswordLink.revoked_at: moment}).where(
            (PasswordLink.owner == user_id) & PasswordLink.used_at.is_null() & PasswordLink.revoked_at.is_null()
        )
        link_id = uuid.uuid4()
        await PasswordLink.insert(
            PasswordLink(
                id=link_id,
                owner=user_id,
                token_hash=hash_token(token),
                created_by=viewer.email,
                created_at=moment,
                expires_at=expires_at,
            )
        )
        await audit_services.record(
            Actor.of(viewer),
            action="user.password_link_created",
            subject_type="user",
            subject_id=user_id,
            member_id=row["member"],
            after={"link": str(link_id), "expires_at": expires_at.isoformat()},
        )
    return token, expires_at, row["email"]


async def _open_link(token: str) -> dict[str, Any] | None:
    row = (
        await PasswordLink.select(
            *PasswordLink.all_columns(),
            PasswordLink.owner.email.as_alias("email"),
            PasswordLink.owner.active.as_alias("active"),
            PasswordLink.owner.member.as_alias("member_id"),
        )
        .where(PasswordLink.token_hash == hash_token(token))
        .first()
    )
    if row is None or row["used_at"] is not None or row["revoked_at"] is not None or not row["active"]:
        return None
    if row["expires_at"] <= now():
        return None
    return dict(row)


async def password_link_email(token: str) -> str | None:
    """The e-mail address of the user a usable link belongs to; None for an unknown, used or expired link."""
    row = await _open_link(token)
    return row["email"] if row else None


async def set_password_with_link(token: str, password: str) -> str:
    """Set the password of the link's user and use the link up; the user's e-mail address."""
    _check_rules(password)
    hashed = await asyncio.to_thread(hash_password, password)
    async with transaction():
        row = await _open_link(token)
        if row is None:
            raise NotFound("The password link is unknown, used or expired.")
        moment = now()
        used = (
            await PasswordLink.update({PasswordLink.used_at: moment})
            .where((PasswordLink.id == row["id"]) & PasswordLink.used_at.is_null())
            .returning(PasswordLink.id)
        )
        if not used:
            raise NotFound("The password link is unknown, used or expired.")
        await _store_password(row["owner"], hashed, moment)
        await audit_services.record(
            Actor(label=row["email"], user_id=row["owner"], member_id=row["member_id"]),
            action="user.password_set",
            subject_type="user",
            subject_id=row["owner"],
            member_id=row["member_id"],
            after={"link": str(row["id"])},
        )
    return str(row["email"])


async def _store_password(user_id: UUID, hashed: str, moment: datetime) -> None:
    await User.update(
        {
            User.password_hash: hashed,
            User.password_changed_at: moment,
            User.failed_sign_ins: 0,
            User.locked_until: None,
        }
    ).where(User.id == user_id)


async def set_password(user_id: UUID, password: str, actor: Actor) -> None:
    """Set a password directly (the demonstration data and operators' commands)."""
    _check_rules(password)
    hashed = await asyncio.to_thread(hash_password, password)
    async with transaction():
        row = await User.select(User.member).where(User.id == user_id).first()
        if row is None:
            raise NotFound("There is no such user.")
        await _store_password(user_id, hashed, now())
        await audit_services.record(
            actor, action="user.password_set", subject_type="user", subject_id=user_id, member_id=row["member"]
        )


# --- signing in -----------------------------------------------------------------------------------------


class AccountLocked(Unauthorized):
    """Too many failed sign-ins: the account refuses passwords until ``until``."""

    slug = "account-locked"

    def __init__(self, until: datetime) -> None:
        super().__init__(f"Too many failed sign-ins; the account is locked until {until.isoformat()}.")
        self.until = until


class MemberNotActive(Forbidden):
    """The user's member is suspended or has left: its users cannot sign in."""


async def sign_in(email: str, password: str) -> tuple[UUID, str]:
    """Check an e-mail address and password: the user's id and password fingerprint, or a refusal.

    Wrong or unknown credentials raise ``Unauthorized`` (the same for both); a locked account ``AccountLocked``;
    a user of a suspended or departed member ``MemberNotActive``.
    """
    row = (
        await User.select(
            User.id,
            User.member,
            User.email,
            User.active,
            User.password_hash,
            User.locked_until,
            User.member.status.as_alias("member_status"),
        )
        .where(User.email == email.strip().lower())
        .first()
    )
    if row is None or row["password_hash"] is None or not row["active"]:
        await asyncio.to_thread(verify_password, password, _dummy_hash())
        raise Unauthorized("The e-mail address or the password is wrong.")
    if row["locked_until"] is not None and row["locked_until"] > now():
        raise AccountLocked(row["locked_until"])
    if not await asyncio.to_thread(verify_password, password, row["password_hash"]):
        locked_until = await _count_failure(row)
        if locked_until is not None:
            raise AccountLocked(locked_until)
        raise Unauthorized("The e-mail address or the password is wrong.")
    if row["member_status"] != Member.Status.active:
        raise MemberNotActive(f"The member is {row['member_status']}; its users cannot sign in.")
    await User.update({User.failed_sign_ins: 0, User.locked_until: None}).where(User.id == row["id"])
    return row["id"], password_fingerprint(row["password_hash"])


async def _count_failure(row: dict[str, Any]) -> datetime | None:
    """Count one failed sign-in (atomically); lock the account at the limit. The lock's end, if it locked."""
    async with transaction():
        counted = (
            await User.update({User.failed_sign_ins: User.failed_sign_ins + 1})
            .where(User.id == row["id"])
            .returning(User.failed_sign_ins)
        )
        if not counted or counted[0]["failed_sign_ins"] < MAX_FAILED_SIGN_INS:
            return None
        until = now() + LOCKOUT
        await User.update({User.failed_sign_ins: 0, User.locked_until: until}).where(User.id == row["id"])
        await audit_services.record(
            Actor(label=row["email"], user_id=row["id"], member_id=row["member"]),
            action="user.locked",
            subject_type="user",
            subject_id=row["id"],
            member_id=row["member"],
            after={"locked_until": until.isoformat()},
            reason=f"{MAX_FAILED_SIGN_INS} failed sign-ins",
        )
        return until


async def session_principal(user_id: UUID, fingerprint: str, session_id: UUID) -> Principal | None:
    """The principal of a signed-in web session, or None when the session no longer holds.

    None when the user is gone or deactivated, its password changed since the sign-in, or its member is
    suspended or has left (the same rules as for bearer tokens).
    """
    row = (
        await User.select(
            User.id,
            User.email,
            User.roles,
            User.active,
            User.password_hash,
            User.member.id.as_alias("member_id"),
            User.member.code.as_alias("member_code"),
            User.member.status.as_alias("member_status"),
        )
        .where(User.id == user_id)
        .first()
    )
    if row is None or not row["active"] or row["member_status"] != Member.Status.active:
        return None
    if row["password_hash"] is None or not hmac.compare_digest(password_fingerprint(row["password_hash"]), fingerprint):
        return None
    return Principal(
        user_id=row["id"],
        email=row["email"],
        member_id=row["member_id"],
        member_code=row["member_code"],
        roles=frozenset(Role(name) for name in row["roles"].split(",") if name),
        token_id=session_id,
    )


async def end_web_session(session_id: UUID, user_id: UUID, lifetime: timedelta) -> None:
    """Record a signed-out web session until its cookie would have expired anyway."""
    moment = now()
    async with transaction():
        if await EndedWebSession.exists().where(EndedWebSession.session_id == session_id):
            return
        await EndedWebSession.insert(
            EndedWebSession(session_id=session_id, owner=user_id, ended_at=moment, expires_at=moment + lifetime)
        )


async def web_session_ended(session_id: UUID) -> bool:
    """True when the web session was signed out."""
    return bool(await EndedWebSession.exists().where(EndedWebSession.session_id == session_id))


async def purge_ended_web_sessions() -> int:
    """Forget signed-out sessions whose cookies have expired; the number forgotten."""
    rows = (
        await EndedWebSession.delete().where(EndedWebSession.expires_at < now()).returning(EndedWebSession.session_id)
    )
    return len(rows)
