"""Passwords for the web pages: hashing, one-time password links, sign-in with growing delays.

Passwords are hashed with scrypt (``hashlib.scrypt``, memory-hard, a random salt per password); the stored form
``scrypt$N$r$p$salt$hash`` names its parameters so that they can be raised later. A password is set only through
a one-time link that a member's admin (or the cooperative's admin) creates: the link's token is random, shown
once, stored as its SHA-256, expires after ``LINK_LIFETIME`` and works once; a new link revokes the older ones.

Sign-in never locks an account (anyone who knows an e-mail address could lock its user out). Failed attempts
make the next attempt wait instead, counted per account and per client address in ``sign_in_delays`` (see
``sign_in``). The hash is computed outside any transaction (it takes tens of milliseconds on purpose).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import ipaddress
import math
import secrets
import uuid
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, NamedTuple
from uuid import UUID

from marketplace.audit import services as audit_services
from marketplace.auth import Actor, Principal, Role, hash_token
from marketplace.clock import now
from marketplace.db import is_postgres, transaction
from marketplace.errors import (
    DomainError,
    FieldError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unauthorized,
)
from marketplace.members.stewardship import ensure_manages, parse_roles
from marketplace.members.tables import EndedWebSession, Member, PasswordLink, SignInDelay, User

#: scrypt cost: 2**15 × 8 × 128 bytes = 32 MiB of memory and some 50-100 ms per hash.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10
MAX_LENGTH = 200
#: Failed sign-ins that cost nothing: of an account, and of a client address (an office may sit behind one).
ACCOUNT_FREE_FAILURES = 3
ADDRESS_FREE_FAILURES = 10
#: The longest wait a run of failures can cause, and how long a quiet counter is kept.
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
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
    """Checked against when the e-mail address is unknown (or has no usable password): the same scrypt work as a
    known address costs. Its salt and digest are random, so no password matches, and making it costs no hash (the
    first unknown address of a process must cost no more than a known one)."""
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


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
    """Store a new password; the account's count of failed sign-ins starts again."""
    changed = (
        await User.update({User.password_hash: hashed, User.password_changed_at: moment})
        .where(User.id == user_id)
        .returning(User.email)
    )
    for row in changed:
        await SignInDelay.delete().where(SignInDelay.subject == account_subject(row["email"]))


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


class SignInDelayed(DomainError):
    """Too many failed sign-ins of the account or from the client address: the next attempt must wait.

    The password of a refused attempt is not checked, so guessing on during the wait gains nothing.
    """

    status_code = HTTPStatus.TOO_MANY_REQUESTS
    slug = "sign-in-delayed"

    def __init__(self, wait: timedelta) -> None:
        #: Whole seconds to wait (rounded up: an attempt after them is never refused for the same failures).
        self.seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(f"Too many failed sign-ins; try again in {self.seconds} seconds.")


class MemberNotActive(Forbidden):
    """The user's member is suspended or has left: its users cannot sign in."""


def delay_after(failures: int, free: int) -> timedelta:
    """The wait before the next attempt after ``failures`` failures in a row of a counter with ``free`` free ones.

    None before the ``free``-th failure; then 1 second, and twice as long after each further failure, at most
    ``MAX_DELAY``.
    """
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 30)), MAX_DELAY)


def account_subject(email: str) -> str:
    """The counter of an e-mail address, known or not; its SHA-256, so that no mistyped address is stored."""
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def address_subject(client: str) -> str:
    """The counter of a client address: an IPv4 address, or the /64 of an IPv6 one (one host may use all of it)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return "address:unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"address:{address.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((int(address) >> 64 << 64, 64))}"
    return f"address:{address}"


class _Claim(NamedTuple):
    """One attempt counted against one counter before its password is checked."""

    subject: str
    failures: int
    next_attempt_at: datetime
    earlier_next_attempt_at: datetime


async def _counter(subject: str) -> dict[str, Any] | None:
    query = SignInDelay.select().where(SignInDelay.subject == subject)
    if is_postgres():
        query = query.lock_rows()
    return await query.first()


async def _claim_attempt(account: str, address: str, moment: datetime) -> tuple[_Claim, _Claim]:
    """Count an attempt as a failure of the account and of the address before its password is checked.

    ``SignInDelayed`` (and nothing counted) while either must still wait. Counting first keeps parallel attempts
    from slipping through together before the first failure is written: each takes the next place in the count,
    and once the counters are past their free failures the others wait. A success gives its count back.
    """
    counters = ((account, ACCOUNT_FREE_FAILURES), (address, ADDRESS_FREE_FAILURES))
    async with transaction():
        await SignInDelay.insert(
            *(
                SignInDelay(subject=subject, failures=0, next_attempt_at=moment, last_attempt_at=moment)
                for subject, _ in counters
            )
        ).on_conflict(action="DO NOTHING")
        # Locked one at a time, always the account first: two attempts never wait for each other's rows crosswise.
        rows = [await _counter(subject) for subject, _ in counters]
        wait = max(row["next_attempt_at"] - moment for row in rows if row is not None)
        if wait > timedelta(0):
            raise SignInDelayed(wait)
        claims = []
        for (subject, free), row in zip(counters, rows, strict=True):
            assert row is not None
            earlier = row["failures"] if row["last_attempt_at"] > moment - FORGET_AFTER else 0
            claim = _Claim(subject, earlier + 1, moment + delay_after(earlier + 1, free), row["next_attempt_at"])
            await SignInDelay.update(
                {
                    SignInDelay.failures: claim.failures,
                    SignInDelay.next_attempt_at: claim.next_attempt_at,
                    SignInDelay.last_attempt_at: moment,
                }
            ).where(SignInDelay.subject == subject)
            claims.append(claim)
    return claims[0], claims[1]


async def _release(account: _Claim, address: _Claim) -> None:
    """A right password: the account's count starts again; the address gives back only this attempt's count.

    The address keeps its other failures, or a caller with an account of its own could clear the address's wait
    between guesses at other accounts.
    """
    async with transaction():
        await SignInDelay.delete().where(SignInDelay.subject == account.subject)
        row = await _counter(address.subject)
        if row is None:
            return
        latest = row["failures"] == address.failures and row["next_attempt_at"] == address.next_attempt_at
        await SignInDelay.update(
            {
                SignInDelay.failures: max(row["failures"] - 1, 0),
                SignInDelay.next_attempt_at: address.earlier_next_attempt_at if latest else row["next_attempt_at"],
            }
        ).where(SignInDelay.subject == address.subject)


async def sign_in(email: str, password: str, client: str) -> tuple[UUID, str]:
    """Check an e-mail address and password sent from ``client`` (its IP address): the user's id and password
    fingerprint, or a refusal.

    ``SignInDelayed`` while the account or the client address must wait (the password is then not checked);
    ``Unauthorized`` for a wrong password or an unknown address, which are answered alike and cost the same scrypt
    computation (an unknown address is checked against a dummy hash, and counted like an account);
    ``MemberNotActive`` for a user of a suspended or departed member.

    Every failure counts against the account and the client address. After ``ACCOUNT_FREE_FAILURES`` failures of
    an account (``ADDRESS_FREE_FAILURES`` from an address) the next attempt waits a second, after each further one
    twice as long, at most ``MAX_DELAY``; a success starts the account's count again. The counts live in the
    database, so every process sees them; a count without attempts for ``FORGET_AFTER`` starts again.
    """
    address = email.strip().lower()
    moment = now()
    account, origin = await _claim_attempt(account_subject(address), address_subject(client), moment)
    row = (
        await User.select(
            User.id,
            User.member,
            User.active,
            User.password_hash,
            User.member.status.as_alias("member_status"),
        )
        .where(User.email == address)
        .first()
    )
    usable = row is not None and row["password_hash"] is not None and row["active"]
    stored = row["password_hash"] if usable and row is not None else _dummy_hash()
    right = await asyncio.to_thread(verify_password, password, stored)
    if row is None or not (usable and right):
        if row is not None and account.failures == ACCOUNT_FREE_FAILURES:
            await _record_delay(row, account, origin)
        raise Unauthorized("The e-mail address or the password is wrong.")
    await _release(account, origin)
    if row["member_status"] != Member.Status.active:
        raise MemberNotActive(f"The member is {row['member_status']}; its users cannot sign in.")
    return row["id"], password_fingerprint(row["password_hash"])


async def _record_delay(row: dict[str, Any], account: _Claim, origin: _Claim) -> None:
    """The audit event of a user's sign-ins starting to wait (not of every further failure)."""
    async with transaction():
        await audit_services.record(
            Actor(label="web sign-in"),
            action="user.sign_in_delayed",
            subject_type="user",
            subject_id=row["id"],
            member_id=row["member"],
            after={
                "next_attempt_at": account.next_attempt_at.isoformat(),
                "client": origin.subject.removeprefix("address:"),
            },
            reason=f"{account.failures} failed sign-ins in a row",
        )


async def purge_sign_in_delays() -> int:
    """Forget the counts of accounts and addresses without attempts for ``FORGET_AFTER``; the number forgotten."""
    rows = (
        await SignInDelay.delete()
        .where(SignInDelay.last_attempt_at < now() - FORGET_AFTER)
        .returning(SignInDelay.subject)
    )
    return len(rows)


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
