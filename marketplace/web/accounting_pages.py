"""Abrechnung for accountants: settlement runs, settlements with their documents, open items, ledger periods.

The roles are those of the API (``settlement.controllers``, ``reconciliation.controllers``,
``accounting.controllers``); tenancy is the services': a member's accountant reads the settlements its member is
a party of, and any other settlement answers the 404 page.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from marketplace.accounting import services as accounting
from marketplace.auth import Actor, Role
from marketplace.booking.calendar import period_bounds
from marketplace.clock import today
from marketplace.errors import DomainError, NotFound
from marketplace.members import services as member_services
from marketplace.periods import PERIOD_PATTERN
from marketplace.reconciliation import payment_state
from marketplace.reconciliation import services as reconciliation
from marketplace.settlement import documents, jobs
from marketplace.settlement import services as settlement
from marketplace.settlement.schemas import ReverseCreate, RunCreate
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import LEDGER_READERS, Viewer, current_viewer, flash, german_error, redirect, render

#: Who reads settlement runs, bank statements, netting runs and verifies the ledger: the cooperative's roles.
COOP_READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor)
#: Who starts runs, reverses, imports, assigns, nets and closes periods.
COOP_ACCOUNTANT = (Role.coop_accountant,)
MONTHS = ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez.")
BUCKET_LABELS = {"0-30": "0–30 Tage", "31-60": "31–60 Tage", "61-90": "61–90 Tage", "over_90": "über 90 Tage"}
RUN_STATUS = {"queued": "Wartet", "running": "Läuft", "done": "Abgeschlossen", "failed": "Mit Fehlern beendet"}
SETTLEMENT_STATUS = {"booked": "Gebucht", "reversed": "Storniert"}
_PERIOD = re.compile(PERIOD_PATTERN)
_MEMBER = re.compile(r"^[A-Z][A-Z0-9-]{0,31}$")
#: How often the page of a running settlement run reloads itself (seconds).
REFRESH_SECONDS = 3


def month_label(period: str) -> str:
    """``2026-11`` → ``Nov. 2026``."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def previous_period(day: dt.date) -> str:
    """The month before ``day``'s, ``YYYY-MM`` (the latest one that can be settled)."""
    first = day.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _period_or_none(value: str | None) -> str | None:
    return value if value and _PERIOD.fullmatch(value) else None


def _member_filter(value: str | None) -> str | None:
    """The member code a list is filtered by; the services refuse (404) a member the viewer may not read."""
    if not value:
        return None
    code = value.strip().upper()
    if not _MEMBER.fullmatch(code):
        raise NotFound("There is no such member.")
    return code


async def _members(viewer: Viewer) -> list[Any]:
    if not viewer.principal.sees_all_members:
        return []
    return list((await member_services.list_members(viewer.principal, limit=200, cursor=None)).items)


# --- the chart of month-end balances ---------------------------------------------------------------------


class ChartBar(msgspec.Struct, frozen=True):
    """One month of the chart: its label, the balance and the bar's geometry in SVG units."""

    period: str
    label: str
    as_of: dt.date
    net: Decimal
    x: int
    y: int
    height: int


class Chart(msgspec.Struct, frozen=True):
    """The balance (what the member owes; negative: is owed) at each of the last twelve month ends."""

    member: str
    bars: list[ChartBar]
    width: int
    height: int
    zero_y: int
    bar_width: int
    highest: Decimal
    lowest: Decimal


CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_LEFT = 720, 240, 16, 200, 8


def month_ends(day: dt.date, count: int = 12) -> list[tuple[str, dt.date]]:
    """The last ``count`` months up to ``day``'s, oldest first, each with its last day (this month: ``day``)."""
    months: list[tuple[str, dt.date]] = []
    year, month = day.year, day.month
    for _ in range(count):
        period = f"{year:04d}-{month:02d}"
        _, last = period_bounds(period)
        months.append((period, min(last, day)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def chart_of(member: str, values: list[tuple[str, dt.date, Decimal]]) -> Chart:
    """Bars scaled to the largest amount, above the zero line for what is owed to the cooperative."""
    highest = max([Decimal(0), *(net for _, _, net in values)])
    lowest = min([Decimal(0), *(net for _, _, net in values)])
    span = highest - lowest or Decimal(1)
    plot = CHART_BOTTOM - CHART_TOP
    zero_y = CHART_TOP + int(plot * highest / span)
    slot = (CHART_WIDTH - CHART_LEFT) // max(len(values), 1)
    bar_width = max(slot - 12, 4)
    bars = []
    for index, (period, as_of, net) in enumerate(values):
        height = int(abs(net) * plot / span)
        top = zero_y - height if net >= 0 else zero_y
        bars.append(
            ChartBar(
                period=period,
                label=month_label(period),
                as_of=as_of,
                net=net,
                x=CHART_LEFT + index * slot + 6,
                y=top,
                height=max(height, 1) if net else 0,
            )
        )
    return Chart(
        member=member,
        bars=bars,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        zero_y=zero_y,
        bar_width=bar_width,
        highest=highest,
        lowest=lowest,
    )


async def balance_chart(viewer: Viewer, member: str | None) -> Chart | None:
    """The chart of ``member``'s month-end balances over the last twelve months (the viewer's member by default)."""
    code = await accounting.visible_member(viewer.principal, member)
    if code is None:
        return None
    ends = month_ends(today())
    nets = await accounting.member_net_at_each(viewer.principal, code, [as_of for _, as_of in ends])
    return chart_of(code, [(period, as_of, net) for (period, as_of), net in zip(ends, nets, strict=True)])


# --- Abrechnungsläufe ------------------------------------------------------------------------------------


@get("/abrechnung/laeufe", name="web:settlement-runs")
async def runs_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The latest settlement runs and (for the cooperative's accountant) the form to settle an ended month."""
    viewer = await current_viewer(request, *COOP_READERS)
    runs = await settlement.list_runs(limit=50)
    return render(
        request,
        "settlement_runs.html",
        viewer,
        runs=runs,
        run_status=RUN_STATUS,
        default_period=previous_period(today()),
        may_start=viewer.has(*COOP_ACCOUNTANT),
    )


@post("/abrechnung/laeufe", name="web:settlement-run-start")
async def start_run(request: Request[Any, Any, Any]) -> Response[Any]:
    """Start settling the month of the form (on a worker or in the app); then the run's page, which follows it."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    form = await request.form()
    try:
        data = msgspec.convert({"period": str(form.get("period", "")).strip()}, RunCreate)
        run, _ = await jobs.start_run(
            data.period, Actor.of(viewer.principal), dispatcher=request.app.state.settlement_runs
        )
    except (DomainError, msgspec.ValidationError) as exc:
        flash(request, "error", _run_refusal(exc))
        return redirect("/abrechnung/laeufe")
    flash(request, "ok", f"Der Abrechnungslauf für {month_label(run.period)} wurde gestartet.")
    return redirect(f"/abrechnung/laeufe/{run.id}")


def _run_refusal(exc: DomainError | msgspec.ValidationError) -> str:
    if isinstance(exc, msgspec.ValidationError):
        return "Bitte geben Sie den Monat im Format JJJJ-MM an."
    detail = exc.detail or ""
    if "not ended" in detail or "has not ended" in detail:
        return "Dieser Monat ist noch nicht zu Ende; abgerechnet wird erst nach dem Monatsende."
    if "closed" in detail:
        return "Dieser Monat ist im Hauptbuch bereits abgeschlossen und kann nicht mehr abgerechnet werden."
    return german_error(exc)


@get("/abrechnung/laeufe/{run_id:str}", name="web:settlement-run")
async def run_page(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    """One run: status, progress, counts, totals, missing usage reports and errors."""
    viewer = await current_viewer(request, *COOP_READERS)
    run = await settlement.get_run(parse_id(run_id))
    running = run.status in ("queued", "running")
    return render(
        request,
        "settlement_run.html",
        viewer,
        run=run,
        run_status=RUN_STATUS,
        month=month_label(run.period),
        refresh=REFRESH_SECONDS if running else None,
    )


# --- Abrechnungen ----------------------------------------------------------------------------------------


@get("/abrechnung/abrechnungen", name="web:settlements")
async def settlements_page(
    request: Request[Any, Any, Any],
    zeitraum: FromQuery[str | None] = None,
    mitglied: FromQuery[str | None] = None,
    weiter: FromQuery[str | None] = None,
) -> Response[Any]:
    """Settlements the viewer may read, newest first, filtered by month and member (as the API allows)."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    period = _period_or_none(zeitraum)
    member = _member_filter(mitglied)
    error = None
    if zeitraum and period is None:
        error = "Bitte geben Sie den Monat im Format JJJJ-MM an."
    try:
        page = await settlement.list_settlements(
            viewer.principal, period=period, member=member, limit=50, cursor=weiter or None
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        page = await settlement.list_settlements(viewer.principal, period=period, member=member, limit=50, cursor=None)
        error = "Die Seite ist nicht mehr gültig; die Liste beginnt wieder vorne."
    return render(
        request,
        "settlements.html",
        viewer,
        settlements=page.items,
        next_cursor=page.next_cursor,
        period=zeitraum or "",
        member=member or "",
        members=await _members(viewer),
        status_labels=SETTLEMENT_STATUS,
        error=error,
    )


@get("/abrechnung/abrechnungen/{number:str}", name="web:settlement")
async def settlement_page(request: Request[Any, Any, Any], number: FromPath[str]) -> Response[Any]:
    """One settlement: parties, lines, net/tax/gross, ledger entries, documents, reversal."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    found = await settlement.get_settlement(number[:13], viewer.principal)
    return render(
        request,
        "settlement.html",
        viewer,
        settlement=found,
        parties=await settlement.document_parties(found),
        payments=await payment_state.of_settlement(found.number, viewer.principal),
        month=month_label(found.period),
        status_labels=SETTLEMENT_STATUS,
        may_reverse=viewer.has(*COOP_ACCOUNTANT) and found.status == "booked",
    )


@get("/abrechnung/abrechnungen/{number:str}/dokument.pdf", name="web:settlement-pdf")
async def settlement_pdf(request: Request[Any, Any, Any], number: FromPath[str]) -> Response[Any]:
    """The settlement as a PDF document."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    found = await settlement.get_settlement(number[:13], viewer.principal)
    content = documents.pdf(found, await settlement.document_parties(found), today())
    return _download(content, "application/pdf", f"{found.number}.pdf")


@get("/abrechnung/abrechnungen/{number:str}/xrechnung.xml", name="web:settlement-xml")
async def settlement_xml(request: Request[Any, Any, Any], number: FromPath[str]) -> Response[Any]:
    """The settlement as an XRechnung (CII) invoice."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    found = await settlement.get_settlement(number[:13], viewer.principal)
    content = documents.xrechnung(found, await settlement.document_parties(found), today())
    return _download(content, "application/xml", f"{found.number}.xml")


def _download(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@post("/abrechnung/abrechnungen/{number:str}/stornieren", name="web:settlement-reverse")
async def reverse(request: Request[Any, Any, Any], number: FromPath[str]) -> Response[Any]:
    """Reverse a booked settlement; a reason is required."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    found = await settlement.get_settlement(number[:13], viewer.principal)
    form = await request.form()
    try:
        data = msgspec.convert({"reason": str(form.get("reason", ""))}, ReverseCreate)
        await settlement.reverse_settlement(found.number, data.reason, Actor.of(viewer.principal), viewer.principal)
    except msgspec.ValidationError:
        flash(request, "error", "Bitte geben Sie eine Begründung für die Stornierung an.")
    except NotFound:
        raise
    except DomainError as exc:
        flash(request, "error", german_error(exc))
    else:
        flash(request, "ok", f"Die Abrechnung {found.number} wurde storniert.")
    return redirect(f"/abrechnung/abrechnungen/{found.number}")


# --- Offene Posten ---------------------------------------------------------------------------------------


@get("/abrechnung/offene-posten", name="web:open-items")
async def open_items_page(
    request: Request[Any, Any, Any],
    mitglied: FromQuery[str | None] = None,
    stichtag: FromQuery[str | None] = None,
) -> Response[Any]:
    """Open receivables and payables with the age buckets 0–30, 31–60, 61–90 and over 90 days."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    member = _member_filter(mitglied)
    error = None
    as_of: dt.date | None = None
    if stichtag:
        try:
            as_of = dt.date.fromisoformat(stichtag)
        except ValueError:
            error = "Bitte geben Sie den Stichtag als Datum an."
    items = await reconciliation.open_items(viewer.principal, member=member, as_of=as_of)
    return render(
        request,
        "open_items.html",
        viewer,
        open_items=items,
        buckets=BUCKET_LABELS,
        member=member or "",
        stichtag=as_of.isoformat() if as_of else "",
        members=await _members(viewer),
        error=error,
    )


# --- Periodenabschluss -----------------------------------------------------------------------------------


async def _periods_page(request: Request[Any, Any, Any], viewer: Viewer, **extra: Any) -> Response[Any]:
    page = await accounting.list_periods(viewer.principal, limit=240, cursor=None)
    ended = previous_period(today())
    return render(
        request,
        "periods.html",
        viewer,
        periods=list(reversed(page.items)),
        ended=ended,
        month_label=month_label,
        may_close=viewer.has(*COOP_ACCOUNTANT),
        may_verify=viewer.has(*COOP_READERS),
        verified=extra.get("verified"),
    )


@get("/abrechnung/perioden", name="web:periods")
async def periods_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The ledger's months, open or closed with the hash of their frozen file."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    return await _periods_page(request, viewer)


@post("/abrechnung/perioden/pruefen", name="web:ledger-verify")
async def verify_ledger(request: Request[Any, Any, Any]) -> Response[Any]:
    """Recompute the ledger's hash chain and the closed months' file hashes; the result on the periods page."""
    viewer = await current_viewer(request, *COOP_READERS)
    return await _periods_page(request, viewer, verified=await accounting.verify())


def _not_ended(period: str) -> str:
    return f"{month_label(period)} ist noch nicht zu Ende und kann noch nicht abgeschlossen werden."


@get("/abrechnung/perioden/{period:str}/abschliessen", name="web:period-close-confirm")
async def close_confirm(request: Request[Any, Any, Any], period: FromPath[str]) -> Response[Any]:
    """Confirm closing a month: what it means is shown before anything changes."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    if not _PERIOD.fullmatch(period):
        raise NotFound("There is no such period.")
    first, last = period_bounds(period)
    if last >= today():
        flash(request, "error", _not_ended(period))
        return redirect("/abrechnung/perioden")
    return render(
        request, "period_close.html", viewer, period=period, month=month_label(period), first=first, last=last
    )


@post("/abrechnung/perioden/{period:str}/abschliessen", name="web:period-close")
async def close(request: Request[Any, Any, Any], period: FromPath[str]) -> Response[Any]:
    """Close a month that has ended; its ledger file is frozen and its balances asserted."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    if not _PERIOD.fullmatch(period):
        raise NotFound("There is no such period.")
    try:
        await accounting.close_period(period, Actor.of(viewer.principal))
    except DomainError as exc:
        text = german_error(exc)
        if "not ended" in (exc.detail or ""):
            text = _not_ended(period)
        flash(request, "error", text)
        return redirect("/abrechnung/perioden")
    flash(request, "ok", f"{month_label(period)} ist abgeschlossen.")
    return redirect("/abrechnung/perioden")


#: The handlers of this module, registered by ``web_routers``.
ACCOUNTING_PAGES = [
    runs_page,
    start_run,
    run_page,
    settlements_page,
    settlement_page,
    settlement_pdf,
    settlement_xml,
    reverse,
    open_items_page,
    periods_page,
    verify_ledger,
    close_confirm,
    close,
]
