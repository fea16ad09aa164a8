"""Bankimport und Zuordnung, Verrechnung und Zahlungsdatei: the cooperative's accountants' side of payments.

Reading is for the cooperative's roles, as in the API (``reconciliation.controllers``); importing, assigning and
netting for its accountant. A refusal of a service is a German message on the page, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from marketplace.auth import Actor
from marketplace.clock import today
from marketplace.errors import DomainError, InvalidInput, NotFound
from marketplace.reconciliation import netting, parsing, schemas, sepa
from marketplace.reconciliation import services as reconciliation
from marketplace.web.accounting_pages import COOP_ACCOUNTANT, COOP_READERS
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import current_viewer, flash, german_error, redirect, render
from marketplace.web.formatting import betrag, parse_amount

LINE_STATUS = {"matched": "Zugeordnet", "partially_matched": "Teilweise zugeordnet", "unmatched": "Offen"}
FORMAT_LABELS = {"camt.053": "camt.053 (XML)", "csv": "CSV"}


# --- Bankimport und Zuordnung ----------------------------------------------------------------------------


@get("/abrechnung/bank", name="web:bank")
async def bank_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The upload form, the imported statements with their balances and the lines not yet fully assigned."""
    viewer = await current_viewer(request, *COOP_READERS)
    page = await reconciliation.list_statements(limit=20, cursor=None)
    return render(
        request,
        "bank.html",
        viewer,
        statements=page.items,
        line_status=LINE_STATUS,
        formats=FORMAT_LABELS,
        may_change=viewer.has(*COOP_ACCOUNTANT),
        max_mib=parsing.MAX_FILE_BYTES // (1024 * 1024),
    )


def _import_refusal(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput):
        detail = exc.detail or ""
        if "clearing account" in detail:
            return "Der Kontoauszug gehört nicht zum Verrechnungskonto der Genossenschaft."
        return "Die Datei ist kein lesbarer Kontoauszug (camt.053 oder CSV). " + f"({detail})"
    return german_error(exc)


@post("/abrechnung/bank", name="web:bank-import", request_max_body_size=parsing.MAX_FILE_BYTES + 64 * 1024)
async def import_statement(request: Request[Any, Any, Any]) -> Response[Any]:
    """Import a camt.053 or CSV file: lines stored, matched by reference or amount and IBAN, and booked."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    form = await request.form()
    upload = form.get("file")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    if not content:
        flash(request, "error", "Bitte wählen Sie eine Datei mit einem Kontoauszug aus.")
        return redirect("/abrechnung/bank")
    try:
        result = await reconciliation.import_statement(content, Actor.of(viewer.principal))
    except DomainError as exc:
        flash(request, "error", _import_refusal(exc))
        return redirect("/abrechnung/bank")
    text = (
        f"Kontoauszug eingelesen: {result.imported} neue Umsätze, davon {result.matched} zugeordnet und "
        f"{result.unmatched} offen; {result.duplicates} bereits bekannte übersprungen."
    )
    flash(request, "ok", text)
    for statement in result.statements:
        if statement.balance_ok is False:
            flash(
                request,
                "error",
                f"Die Salden des Auszugs {statement.reference} stimmen nicht überein: Anfangssaldo "
                f"{betrag(statement.opening_balance)} und Umsätze {betrag(statement.entries_total)} ergeben nicht "
                f"den Endsaldo {betrag(statement.closing_balance)} "
                f"(Abweichung {betrag(statement.balance_difference)}).",
            )
    return redirect("/abrechnung/bank")


@post("/abrechnung/bank/umsaetze/{line_id:str}/zuordnen", name="web:bank-assign")
async def assign(request: Request[Any, Any, Any], line_id: FromPath[str]) -> Response[Any]:
    """Assign a line's money not yet assigned to a settlement by hand (all of it that fits, or an amount)."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    line_uuid = parse_id(line_id)
    # Before the form is read: a line that does not exist answers the 404 page, whatever the form holds.
    if not await reconciliation.line_exists(line_uuid):
        raise NotFound("There is no such bank statement line.")
    form = await request.form()
    number = str(form.get("settlement", "")).strip().upper()
    amount_text = str(form.get("amount", "")).strip()
    try:
        amount = None if not amount_text else f"{parse_amount(amount_text):.2f}"
        data = msgspec.convert({"settlement": number, "amount": amount}, schemas.AssignCreate)
        line = await reconciliation.assign_line(line_uuid, data, Actor.of(viewer.principal))
    except (ValueError, msgspec.ValidationError):
        flash(request, "error", "Bitte geben Sie eine Abrechnungsnummer (S-JJJJ-NNNNNN) und einen Betrag wie 59,50 an.")
    except DomainError as exc:
        flash(request, "error", _assign_refusal(exc))
    else:
        flash(
            request,
            "ok",
            f"Umsatz {line.bank_reference} der Abrechnung {data.settlement} zugeordnet; "
            f"noch nicht zugeordnet: {betrag(line.unallocated)}.",
        )
    return redirect("/abrechnung/bank")


def _assign_refusal(exc: DomainError) -> str:
    detail = exc.detail or ""
    if "There is no settlement" in detail:
        return "Diese Abrechnung gibt es nicht."
    if "already paid" in detail:
        return "Die Abrechnung ist auf dieser Seite bereits vollständig bezahlt."
    if "At most" in detail:
        return f"Der Betrag ist zu hoch. ({detail})"
    return german_error(exc)


# --- Verrechnung und Zahlungsdatei -----------------------------------------------------------------------


@get("/abrechnung/verrechnung", name="web:netting")
async def netting_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form to net the open items as of a day, and the latest netting runs."""
    viewer = await current_viewer(request, *COOP_READERS)
    return render(
        request,
        "netting.html",
        viewer,
        runs=await netting.list_runs(limit=50),
        may_start=viewer.has(*COOP_ACCOUNTANT),
        default_day=today().isoformat(),
    )


@post("/abrechnung/verrechnung", name="web:netting-start")
async def start_netting(request: Request[Any, Any, Any]) -> Response[Any]:
    """Net every member's open items as of the day of the form and propose the payouts."""
    viewer = await current_viewer(request, *COOP_ACCOUNTANT)
    form = await request.form()
    try:
        as_of = dt.date.fromisoformat(str(form.get("as_of", "")).strip())
        run = await netting.create_run(netting.NettingRunCreate(as_of=as_of), Actor.of(viewer.principal))
    except ValueError:
        flash(request, "error", "Bitte geben Sie den Stichtag als Datum an.")
        return redirect("/abrechnung/verrechnung")
    except DomainError as exc:
        text = german_error(exc)
        if "future" in (exc.detail or ""):
            text = "Der Stichtag darf nicht in der Zukunft liegen."
        flash(request, "error", text)
        return redirect("/abrechnung/verrechnung")
    transfers = "eine Überweisung" if run.transfers == 1 else f"{run.transfers} Überweisungen"
    flash(request, "ok", f"Verrechnung zum {run.as_of:%d.%m.%Y} gebucht: {transfers} vorgeschlagen.")
    return redirect(f"/abrechnung/verrechnung/{run.id}")


@get("/abrechnung/verrechnung/{run_id:str}", name="web:netting-run")
async def netting_run_page(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    """One netting run: the offsets booked, the proposed transfers, payees without valid bank details."""
    viewer = await current_viewer(request, *COOP_READERS)
    run = await netting.get_run(parse_id(run_id))
    return render(
        request,
        "netting_run.html",
        viewer,
        run=run,
        problems=[german_bank_problem(text) for text in run.errors],
        payable=any(payout.bank_details_ok for payout in run.payouts),
    )


def german_bank_problem(text: str) -> str:
    """A netting run's note on a payee's bank details (``CODE: no IBAN on file``, ``CODE: IBAN …: why``) in German."""
    code, _, problem = text.partition(": ")
    if problem == "no IBAN on file":
        return f"{code}: keine IBAN hinterlegt"
    kind, _, rest = problem.partition(" ")
    if kind in ("IBAN", "BIC"):
        value, _, why = rest.partition(": ")
        return f"{code}: {kind} {value} ist ungültig ({why})"
    return text


@get("/abrechnung/verrechnung/{run_id:str}/zahlungsdatei.xml", name="web:netting-payments")
async def payments_file(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    """The SEPA pain.001 file of the run's payouts (payees with valid bank details)."""
    await current_viewer(request, *COOP_READERS)
    run_uuid = parse_id(run_id)
    try:
        content = await sepa.payments_xml(run_uuid)
    except DomainError as exc:
        if exc.status_code != 409:
            raise
        flash(request, "error", _payments_refusal(exc))
        return redirect(f"/abrechnung/verrechnung/{run_uuid}")
    return Response(
        content,
        media_type=sepa.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="sepa-{run_uuid}.xml"'},
    )


def _payments_refusal(exc: DomainError) -> str:
    detail = exc.detail or ""
    if "clearing account" in detail:
        return "Für das Verrechnungskonto der Genossenschaft ist keine gültige IBAN hinterlegt."
    if "nothing to transfer" in detail:
        return "Dieser Lauf enthält keine Auszahlung an einen Empfänger mit gültiger Bankverbindung."
    return german_error(exc)


#: The handlers of this module, registered by ``web_routers``.
RECONCILIATION_PAGES = [
    bank_page,
    import_statement,
    assign,
    netting_page,
    start_netting,
    netting_run_page,
    payments_file,
]
