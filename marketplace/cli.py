"""The ``marketplace`` command for operators: migrate, serve, demo, members, users, tokens."""

from __future__ import annotations

import asyncio
import getpass
import os
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click
import msgspec

from marketplace.auth import Actor, Role

P = ParamSpec("P")
T = TypeVar("T")


def _actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(label=f"cli:{user}")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine; domain errors become a clear message and exit code 1."""
    from marketplace.errors import DomainError

    try:
        return asyncio.run(coroutine)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


def _roles(value: str) -> frozenset[Role]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give at least one role, e.g. --roles buyer,accountant")
    unknown = [name for name in names if name not in Role.__members__]
    if unknown:
        raise click.BadParameter(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(Role)}")
    return frozenset(Role(name) for name in names)


def async_command(function: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Let a click command be written as a coroutine function."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return _run(function(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


@click.group()
def main() -> None:
    """Operate the KOPIT service exchange."""


@main.command()
@async_command
async def migrate() -> None:
    """Create or upgrade the database schema (SQLite or PostgreSQL, from DATABASE_URL)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from marketplace.db import prepare_database

    await prepare_database()
    result = await run_forwards(app_name="all")
    if not result.success:
        raise click.ClickException(f"migrations failed: {result.message}")
    click.echo("database schema is up to date")


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1 or $HOST")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000 or $PORT")
@click.option("--workers", type=int, default=1, show_default=True, help="Processes to serve with.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the exchange over HTTP (a stop signal ends event streams and waits at most SHUTDOWN_TIMEOUT_SECONDS)."""
    from marketplace.config import load_settings
    from marketplace.serving import serve as run_server

    run_server(load_settings(), host=host, port=port, workers=workers)


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Runs executed at once by this worker [default: WORKER_CONCURRENCY, 2].",
)
def worker(concurrency: int | None) -> None:
    """Execute settlement runs from the Redis queue, and resume abandoned ones, until SIGINT or SIGTERM.

    Start any number, on any host that reaches the database and Redis (REDIS_URL is required).
    """
    from marketplace.config import load_settings
    from marketplace.observability import configure_logging
    from marketplace.settlement import jobs

    settings = load_settings()
    if not settings.redis_url:
        raise click.ClickException(
            "marketplace worker takes its jobs from Redis: set REDIS_URL (without Redis, runs execute in the app)"
        )
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(jobs.work(settings, concurrency or settings.worker_concurrency))


@main.command()
@click.option("--tokens/--no-tokens", default=True, help="Issue fresh demonstration tokens and print them.")
@async_command
async def demo(tokens: bool) -> None:
    """Load the demonstration members and users (idempotent) and print a token per role."""
    from marketplace import demo as demo_data

    admitted = await demo_data.load_members()
    click.echo(f"demonstration data ready ({admitted} members admitted now)")
    click.echo(f"demonstration catalogue ready ({await demo_data.load_catalogue()} offers published now)")
    if not tokens:
        return
    issued = await demo_data.issue_demo_tokens()
    click.echo("\nDemonstration tokens (new on every run; the previous ones are revoked):")
    for item in issued:
        click.echo(f"  {item.role:<16} {item.member:<7} {item.token}")
    example = issued[0].token
    base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    click.echo(f'\nTry: curl -H "Authorization: Bearer {example}" {base}/api/v1/me')
    sign_ins = await demo_data.set_demo_passwords()
    click.echo(f"\nDemonstration sign-in, {base}/anmelden (new passwords on every run):")
    for sign_in in sign_ins:
        click.echo(f"  {sign_in.role:<16} {sign_in.member:<7} {sign_in.email:<36} {sign_in.password}")


@main.group()
def member() -> None:
    """Members of the cooperative."""


@member.command("add")
@click.option("--code", required=True, help="e.g. KDZ-MZ")
@click.option("--name", required=True)
@click.option(
    "--kind",
    required=True,
    type=click.Choice([k.value for k in __import__("marketplace.members.tables", fromlist=["Member"]).Member.Kind]),
)
@click.option("--state", required=True, help="ISO 3166-2 code of the federal state, e.g. DE-HE")
@click.option("--leitweg-id", default=None)
@click.option("--contact-email", default=None)
@async_command
async def member_add(
    code: str, name: str, kind: str, state: str, leitweg_id: str | None, contact_email: str | None
) -> None:
    """Admit a member."""
    from marketplace.members import services
    from marketplace.members.schemas import MemberCreate

    try:
        data = msgspec.convert(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "state": state,
                "leitweg_id": leitweg_id,
                "contact_email": contact_email,
            },
            MemberCreate,
        )
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from exc
    created = await services.admit_member(data, _actor())
    click.echo(f"admitted {created.code} ({created.name})")


@main.group()
def user() -> None:
    """Users of members."""


@user.command("add")
@click.option("--member", "member_code", required=True, help="Member code")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--roles", required=True, help="Comma-separated, e.g. buyer,accountant")
@async_command
async def user_add(member_code: str, email: str, name: str, roles: str) -> None:
    """Create a user of a member."""
    from marketplace.members import services

    wanted = _roles(roles)
    created = await services.ensure_user(member_code, wanted, _actor(), email=email, name=name)
    click.echo(f"user {created['email']} ({created['id']}) of {member_code} with roles {created['roles']}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--member", "member_code", required=True, help="Member code")
@click.option("--roles", required=True, help="Comma-separated, e.g. buyer,accountant")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the token by.")
@async_command
async def token_create(member_code: str, roles: str, name: str) -> None:
    """Create (or reuse) a user of MEMBER with ROLES and print a new token on the last line."""
    from marketplace.members import services

    created = await services.issue_token(member_code, _roles(roles), _actor(), name=name)
    click.echo(f"token {created.name!r} for user {created.user_id} of {member_code}; it is shown only now:")
    click.echo(created.token)


# --- the clearing ledger --------------------------------------------------------------------------------

_PERIOD_PATTERN = r"^[12]\d{3}-(0[1-9]|1[0-2])$"


@main.group()
def agreement() -> None:
    """Agreements between members."""


@agreement.command("import")
@click.option("--offer", "offer_id", required=True, type=click.UUID, help="The offer's id")
@click.option("--provider", required=True, help="Provider member code")
@click.option("--consumer", required=True, help="Consumer member code")
@click.option("--quantity", required=True, type=click.IntRange(min=1))
@click.option("--start", "start_date", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--end", "end_date", default=None, type=click.DateTime(formats=["%Y-%m-%d"]))
@async_command
async def agreement_import(
    offer_id: uuid.UUID,
    provider: str,
    consumer: str,
    quantity: int,
    start_date: datetime,
    end_date: datetime | None,
) -> None:
    """Record an agreement made by letter before the exchange existed (the start may lie in the past)."""
    from marketplace.booking import services
    from marketplace.booking.schemas import AgreementImport

    try:
        data = msgspec.convert(
            {
                "offer_id": offer_id,
                "provider": provider,
                "consumer": consumer,
                "quantity": quantity,
                "start_date": start_date.date(),
                "end_date": end_date.date() if end_date else None,
            },
            AgreementImport,
        )
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from exc
    created = await services.import_agreement(data, _actor())
    parties = f"{created.provider} → {created.consumer}"
    click.echo(f"recorded {created.reference}: {parties}, {created.quantity} × {created.offer_title}")


def _ledger_dir(value: str | None) -> str:
    from marketplace.config import load_settings

    return value or load_settings().ledger_dir


@main.group("ledger")
def ledger_group() -> None:
    """The clearing ledger: export, check, verify, close periods."""


@ledger_group.command("export")
@click.option("--member", "member_code", default=None, help="Export only this member's part (e.g. HZD).")
@click.option("--dir", "directory", default=None, help="Target folder [default: the LEDGER_DIR setting, var/ledger]")
@async_command
async def ledger_export(member_code: str | None, directory: str | None) -> None:
    """Write main.beancount and one file per period, after Beancount's loader accepted them."""
    import ledger
    from marketplace.accounting import services

    target = _ledger_dir(directory)
    try:
        result = await services.export_files(target, member=member_code)
    except ledger.LedgerError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"wrote {result.entries} entries in {len(result.files)} files to {result.directory}")
    for name in result.files:
        click.echo(f"  {name}")


@ledger_group.command("check")
@click.option("--dir", "directory", default=None, help="Folder of main.beancount [default: LEDGER_DIR, var/ledger]")
def ledger_check(directory: str | None) -> None:
    """Load the exported main.beancount with Beancount's loader; exit 1 with its errors if it has any."""
    from pathlib import Path

    from beancount import loader
    from beancount.parser import printer

    main_file = Path(_ledger_dir(directory)) / "main.beancount"
    if not main_file.is_file():
        raise click.ClickException(f"{main_file} does not exist: run 'marketplace ledger export' first")
    entries, errors, _ = loader.load_file(str(main_file))
    if errors:
        for error in errors:
            click.echo(printer.format_error(error).rstrip(), err=True)
        raise click.ClickException(f"Beancount reports {len(errors)} error(s) in {main_file}")
    click.echo(f"ok: {main_file} loads without errors ({len(entries)} directives)")


@ledger_group.command("verify")
@async_command
async def ledger_verify() -> None:
    """Recompute the hash chain and the closed periods' file hashes; exit 1 on the first break."""
    from marketplace.accounting import services

    result = await services.verify()
    if not result.ok:
        click.echo(f"BROKEN: {result.first_break}", err=True)
        raise SystemExit(1)
    click.echo(f"ok: {result.entries_checked} entries and {result.periods_checked} closed periods verified")


@ledger_group.command("close")
@click.option("--period", required=True, help="The month to close, YYYY-MM (it must have ended).")
@async_command
async def ledger_close(period: str) -> None:
    """Close a month: assert its balances and freeze its file; nothing is booked into it afterwards."""
    import re

    import ledger
    from marketplace.accounting import services

    if not re.fullmatch(_PERIOD_PATTERN, period):
        raise click.BadParameter(f"{period!r} is not a month; give YYYY-MM, e.g. 2026-11", param_hint="--period")
    try:
        closed = await services.close_period(period, _actor())
    except ledger.LedgerError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"period {closed.period} is closed: {closed.entry_count} entries, sha256 {closed.file_sha256}")


# --- settlement -----------------------------------------------------------------------------------------


@main.command()
@click.option("--period", required=True, help="The month to settle, YYYY-MM (it must have ended).")
@async_command
async def settle(period: str) -> None:
    """Settle a month: charge every agreement that ran in it once, book the settlements into the ledger."""
    import re

    import ledger
    from marketplace.config import load_settings
    from marketplace.settlement import jobs

    if not re.fullmatch(_PERIOD_PATTERN, period):
        raise click.BadParameter(f"{period!r} is not a month; give YYYY-MM, e.g. 2026-11", param_hint="--period")
    try:
        # In this process, with a heartbeat: if it is killed, a worker or the app resumes the run.
        run = await jobs.settle_here(period, _actor(), jobs.Timing.of(load_settings()))
    except ledger.LedgerError as exc:
        raise click.ClickException(exc.message) from exc
    counts, totals = run.counts, run.totals
    click.echo(
        f"settlement run {run.id} for {run.period}: {run.status}; {counts.settlements} settlements, "
        f"{counts.charged} of {counts.agreements} agreements charged ({counts.already_charged} already charged, "
        f"{counts.not_due} not due, {counts.missing_usage} without usage report)"
    )
    click.echo(f"net {totals.net} EUR, tax {totals.tax} EUR, gross {totals.gross} EUR, fee {totals.fee} EUR")
    for missing in run.missing_usage:
        click.echo(f"  missing usage: {missing.reference} ({missing.provider} -> {missing.consumer})")
    for error in run.errors:
        click.echo(f"  NOT BOOKED: {error.provider} -> {error.consumer}: {error.detail}", err=True)
    if run.status != "done":
        raise SystemExit(1)


# --- reconciliation -------------------------------------------------------------------------------------


@main.group("bank")
def bank_group() -> None:
    """Bank statements of the clearing account."""


@bank_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
def bank_import(file: str) -> None:
    """Import a camt.053 or CSV statement: store its new lines, match and book them; all or nothing."""
    from pathlib import Path

    _run(_bank_import(Path(file).read_bytes()))


async def _bank_import(content: bytes) -> None:
    import ledger
    from marketplace.reconciliation import services

    try:
        result = await services.import_statement(content, _actor())
    except ledger.LedgerError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"{len(result.statements)} statement(s): {result.imported} new line(s), {result.duplicates} already known, "
        f"{result.matched} matched, {result.unmatched} not (fully) matched"
    )
    for line in result.lines:
        click.echo(f"  {line.booking_date} {line.amount:>12} EUR  {line.status:<17} {line.bank_reference}")
    for difference in result.balance_differences:
        click.echo(f"  DIFFERENCE {difference}", err=True)


@main.command()
@click.option("--period", required=True, help="The month to reconcile, YYYY-MM.")
@click.option("--member", "member_code", default=None, help="Only this member's part (e.g. HZD).")
@async_command
async def reconcile(period: str, member_code: str | None) -> None:
    """Print the reconciliation report of a month; exit 1 when it lists a difference."""
    import re

    from marketplace.reconciliation import report

    if not re.fullmatch(_PERIOD_PATTERN, period):
        raise click.BadParameter(f"{period!r} is not a month; give YYYY-MM, e.g. 2026-11", param_hint="--period")
    found = await report.build(period, member=member_code)
    totals = found.totals
    click.echo(f"reconciliation {found.period}" + (f" ({found.member})" if found.member else ""))
    click.echo(
        f"settlements: {totals.settlements} ({totals.booked} booked, {totals.reversed} reversed); "
        f"documents receivable {totals.documents.receivable}, payable {totals.documents.payable}, "
        f"fee {totals.documents.fee}; ledger receivable {totals.ledger.receivable}, "
        f"payable {totals.ledger.payable}, fee {totals.ledger.fee} EUR"
    )
    if found.payments is not None:
        payments = found.payments
        click.echo(
            f"bank lines: {payments.lines}, received {payments.received}, paid out {payments.paid_out}; "
            f"ledger received {payments.ledger_received}, paid out {payments.ledger_paid_out} EUR"
        )
    for statement in found.statements or []:
        state = "asserted in the ledger" if statement.asserted else "not asserted"
        click.echo(
            f"statement {statement.reference} ({statement.closing_date}): opening {statement.opening_balance}, "
            f"entries {statement.entries_total}, closing {statement.closing_balance}, "
            f"ledger {statement.ledger_balance}: {state}"
        )
    for difference in found.differences:
        click.echo(
            f"DIFFERENCE {difference.subject}: {difference.what}: expected {difference.expected}, "
            f"found {difference.found}",
            err=True,
        )
    if not found.clean:
        click.echo(f"{len(found.differences)} difference(s)", err=True)
        raise SystemExit(1)
    click.echo("clean: no differences")


if __name__ == "__main__":
    main()
