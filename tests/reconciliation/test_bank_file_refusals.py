"""Bank statement files malformed in their encoding, their DOCTYPE, their CSV structure, their text or their dates:
each answers 422 naming the problem and stores nothing (through the API, the web page and the command line), and
the odd but harmless things banks write (CR line ends, control characters, byte order marks) are read."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from marketplace.clock import today
from marketplace.db import engine
from tests.builders import running_app
from tests.conftest import TEST_DATABASE_URL
from tests.reconciliation.helpers import CLEARING_IBAN, Entry, Statement, camt053, shared_app, stored, upload
from tests.settlement.helpers import Exchange
from tests.web.helpers import csrf, sign_in, web_client, web_user

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
#: A well-formed camt.053 statement of one entry, without its XML declaration.
BODY = camt053(Statement(entries=[Entry("10.00", reference="R-1", remittance="Miete")])).removeprefix(DECLARATION)
#: A comment longer than any look at the first bytes of a file.
LONG_COMMENT = b"<!--" + b" Kontoauszug " * 500 + b"-->"
CSV_HEADER = "account_iban;booking_date;value_date;amount;counterparty_name;remittance;end_to_end_id;bank_reference"


def declared(encoding: str) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?>'.encode()


def csv_file(*rows: str, line_end: str = "\n") -> bytes:
    return line_end.join([CSV_HEADER, *rows, ""]).encode()


async def refused(content: bytes, name: str = "statement.xml") -> str:
    """Upload ``content``; it must answer a 422 problem and store nothing. Its detail."""
    async with running_app(shared_app()) as client:
        exchange = await Exchange.make()
        before = await stored()
        response = await upload(client, exchange.accountant, content, name=name)
        after = await stored()
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "file"
    assert before == after
    return str(response.json()["detail"])


async def accepted(content: bytes, name: str = "statement.xml") -> dict[str, Any]:
    """Upload ``content``; it must be imported (201). The answer."""
    async with running_app(shared_app()) as client:
        exchange = await Exchange.make()
        response = await upload(client, exchange.accountant, content, name=name)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- the encoding of a camt.053 file ---------------------------------------------------------------------


async def test_an_xml_declaration_naming_an_unknown_encoding_is_refused() -> None:
    detail = await refused(declared("x-nonsense") + BODY)
    assert "x-nonsense" in detail
    assert "UTF-8" in detail


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("UTF-7", declared("UTF-7") + BODY),
        ("ISO-8859-1", declared("ISO-8859-1") + BODY.decode().encode("latin-1")),
        ("UTF-32", (declared("UTF-32") + BODY).decode().encode("utf-32")),
        ("EBCDIC", (declared("cp037") + BODY).decode().encode("cp037")),
    ],
    ids=["utf-7", "latin-1", "utf-32", "ebcdic"],
)
async def test_a_camt_file_in_an_encoding_other_than_utf8_or_utf16_is_refused(encoding: str, content: bytes) -> None:
    detail = await refused(content)
    assert encoding in detail
    assert "UTF-8" in detail


async def test_bytes_that_are_not_the_declared_utf8_are_refused_naming_where() -> None:
    content = (declared("UTF-8") + BODY).replace(b"f\xc3\xbcr", "für".encode("latin-1"))
    detail = await refused(content)
    assert "not UTF-8" in detail
    assert "line 1" in detail


async def test_an_8_bit_file_declaring_utf16_is_refused() -> None:
    detail = await refused(declared("UTF-16") + BODY)
    assert "UTF-16" in detail


async def test_a_utf16_file_declaring_utf8_is_refused() -> None:
    detail = await refused((declared("UTF-8") + BODY).decode().encode("utf-16"))
    assert "UTF-16" in detail
    assert "UTF-8" in detail


@pytest.mark.parametrize(
    "content",
    [
        (declared("UTF-16") + BODY).decode().encode("utf-16"),
        (declared("UTF-16") + BODY).decode().encode("utf-16-be"),
        b"\xef\xbb\xbf" + declared("UTF-8") + BODY,
        BODY,
    ],
    ids=["utf-16-bom", "utf-16-be-no-bom", "utf-8-bom", "no-declaration"],
)
async def test_utf8_and_utf16_statements_are_read(content: bytes) -> None:
    result = await accepted(content)
    assert [line["counterparty_name"] for line in result["lines"]] == ["Hessische Zentrale für Datenverarbeitung"]


# --- DOCTYPE and entities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        DECLARATION + b"<!DOCTYPE Document>" + BODY,
        b"<!DOCTYPE Document>" + BODY,
        DECLARATION + b'<!DOCTYPE Document [<!ENTITY bank "Sparkasse">]>' + BODY,
        DECLARATION + b'<!DOCTYPE Document SYSTEM "http://bank.example/camt.053.dtd">' + BODY,
        DECLARATION + LONG_COMMENT + b"<!DOCTYPE Document>" + BODY,
        (declared("UTF-16") + b"<!DOCTYPE Document>" + BODY).decode().encode("utf-16"),
        (declared("UTF-16") + LONG_COMMENT + b"<!DOCTYPE Document>" + BODY).decode().encode("utf-16"),
        b"\xef\xbb\xbf" + DECLARATION + b"<!DOCTYPE Document>" + BODY,
    ],
    ids=[
        "after-the-declaration",
        "without-declaration",
        "with-an-entity",
        "external",
        "after-a-long-comment",
        "utf-16",
        "utf-16-after-a-long-comment",
        "utf-8-bom",
    ],
)
async def test_a_doctype_anywhere_in_a_camt_file_is_refused(content: bytes) -> None:
    assert "DOCTYPE" in await refused(content)


async def test_entity_expansion_is_refused() -> None:
    laughs = (
        b'<!DOCTYPE Document [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    content = DECLARATION + LONG_COMMENT + laughs + BODY.replace(b"<Ustrd>Miete</Ustrd>", b"<Ustrd>&lol3;</Ustrd>")
    assert "DOCTYPE" in await refused(content)


async def test_a_billion_laughs_is_refused_before_anything_is_expanded() -> None:
    levels = [b'<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">'.encode() for n in range(1, 10)]
    content = DECLARATION + b"<!DOCTYPE Document [" + b"".join(levels) + b"]>"
    content += BODY.replace(b"<Ustrd>Miete</Ustrd>", b"<Ustrd>&lol9;</Ustrd>")
    detail = await refused(content)
    assert "DOCTYPE" in detail or "entity" in detail


async def test_doctype_written_inside_a_comment_is_no_doctype() -> None:
    content = DECLARATION + b"<!-- no <!DOCTYPE here, and no <!ENTITY either -->" + BODY
    assert (await accepted(content))["imported"] == 1


# --- CSV --------------------------------------------------------------------------------------------------


async def test_a_csv_field_longer_than_the_csv_reader_takes_is_refused() -> None:
    huge = "x" * 200_000
    detail = await refused(csv_file(f'{CLEARING_IBAN};2025-03-12;;7.50;;"{huge}";;'), name="umsaetze.csv")
    assert "CSV line 2" in detail
    assert "field" in detail


async def test_csv_lines_ended_by_cr_alone_are_read() -> None:
    content = csv_file(
        f"{CLEARING_IBAN};2025-03-12;;7.50;HZD;Spende;;CSV-1",
        f'{CLEARING_IBAN};2025-03-13;;-2.00;;"Gebühr\rMärz";;CSV-2',
        line_end="\r",
    )
    result = await accepted(content, name="umsaetze.csv")
    assert {line["bank_reference"]: line["remittance"] for line in result["lines"]} == {
        "CSV-1": "Spende",
        "CSV-2": "Gebühr März",
    }


async def test_a_nul_character_in_a_csv_field_is_refused() -> None:
    detail = await refused(csv_file(f"{CLEARING_IBAN};2025-03-12;;7.50;HZD;Spen\x00de;;CSV-1"), name="umsaetze.csv")
    assert "NUL" in detail
    assert "CSV line 2" in detail
    assert "remittance" in detail


async def test_a_csv_file_that_is_not_utf8_is_refused_naming_the_line() -> None:
    content = csv_file(
        f"{CLEARING_IBAN};2025-03-12;;7.50;HZD;Spende;;CSV-1",
        f"{CLEARING_IBAN};2025-03-12;;7.50;Müller;Spende;;CSV-2",
    )
    detail = await refused(content.replace("Müller".encode(), "Müller".encode("latin-1")), name="umsaetze.csv")
    assert "UTF-8" in detail
    assert "line 3" in detail


async def test_control_characters_in_csv_text_fields_become_spaces() -> None:
    content = csv_file(f"{CLEARING_IBAN};2025-03-12;;7.50;Stadt\x07Kassel;Spende\x1b[31m Mai;E2E\x7f1;CSV\x01-1")
    [line] = (await accepted(content, name="umsaetze.csv"))["lines"]
    assert (line["counterparty_name"], line["remittance"]) == ("Stadt Kassel", "Spende [31m Mai")
    assert (line["end_to_end_id"], line["bank_reference"]) == ("E2E 1", "CSV -1")


async def test_control_characters_in_camt_text_fields_become_spaces() -> None:
    entry = Entry("10.00", reference="R\x7f1", remittance="Miete\x9b Mai", counterparty_name="Stadt\x80Kassel")
    [line] = (await accepted(camt053(Statement(entries=[entry]))))["lines"]
    assert (line["bank_reference"], line["remittance"], line["counterparty_name"]) == (
        "R 1",
        "Miete Mai",
        "Stadt Kassel",
    )


# --- amounts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["10000000000000.00", "١٠.00", "１０.00"], ids=["too-large", "arabic", "fullwidth"])
async def test_an_amount_the_ledger_cannot_hold_or_in_foreign_digits_is_refused(amount: str) -> None:
    detail = await refused(camt053(Statement(entries=[Entry(amount, reference="R-1")], opening="0.00", closing="0.00")))
    assert "entry 1" in detail


async def test_entries_summing_beyond_what_the_ledger_holds_are_refused() -> None:
    rows = [f"{CLEARING_IBAN};2025-03-12;;9999999999999.99;;;;CSV-{n}" for n in range(2)]
    detail = await refused(csv_file(*rows), name="umsaetze.csv")
    assert "sum" in detail


# --- dates ------------------------------------------------------------------------------------------------


def _far_ahead() -> str:
    return (today() + timedelta(days=367)).isoformat()


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "9999-12-31", "far-ahead"])
async def test_a_camt_booking_date_outside_the_supported_range_is_refused(day: str) -> None:
    day = _far_ahead() if day == "far-ahead" else day
    detail = await refused(camt053(Statement(entries=[Entry("10.00", reference="R-1", booked=day)])))
    assert "entry 1" in detail
    assert day in detail
    assert "2000-01-01" in detail


@pytest.mark.parametrize("column", ["booking_date", "value_date"])
@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "9999-12-31", "far-ahead"])
async def test_a_csv_date_outside_the_supported_range_is_refused(column: str, day: str) -> None:
    day = _far_ahead() if day == "far-ahead" else day
    booking, value = (day, "") if column == "booking_date" else ("2025-03-12", day)
    detail = await refused(csv_file(f"{CLEARING_IBAN};{booking};{value};7.50;;;;CSV-1"), name="umsaetze.csv")
    assert f"CSV line 2, {column}" in detail
    assert day in detail


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<Dt><Dt>2025-03-10</Dt></Dt></Bal>", b"<Dt><Dt>9999-12-31</Dt></Dt></Bal>"),
        (b"<Dt><Dt>2025-03-09</Dt></Dt></Bal>", b"<Dt><Dt>1990-06-30</Dt></Dt></Bal>"),
        (b"<CreDtTm>2025-03-11T06:00:00+01:00</CreDtTm><Acct>", b"<CreDtTm>9999-12-31T06:00:00+01:00</CreDtTm><Acct>"),
        (b"<ValDt><Dt>2025-03-10</Dt>", b"<ValDt><Dt>0001-01-01</Dt>"),
    ],
    ids=["closing-balance", "previous-closing-balance", "statement-created", "value-date"],
)
async def test_any_camt_date_outside_the_supported_range_is_refused(old: bytes, new: bytes) -> None:
    content = camt053(Statement(entries=[Entry("10.00", reference="R-1")]))
    assert old in content
    detail = await refused(content.replace(old, new))
    assert "statement 1" in detail
    assert "2000-01-01" in detail


async def test_the_first_and_last_supported_days_are_read() -> None:
    last = (today() + timedelta(days=366)).isoformat()
    content = csv_file(f"{CLEARING_IBAN};2000-01-01;;7.50;;;;CSV-1", f"{CLEARING_IBAN};{last};{last};-7.50;;;;CSV-2")
    result = await accepted(content, name="umsaetze.csv")
    assert sorted(line["booking_date"] for line in result["lines"]) == ["2000-01-01", last]


# --- the web page and the command line ----------------------------------------------------------------------

UNKNOWN_ENCODING = declared("x-nonsense") + BODY


async def test_the_web_page_refuses_a_malformed_file_with_a_message_and_stores_nothing() -> None:
    await Exchange.make()
    async with web_client() as client:
        await sign_in(client, await web_user("KOPIT", "coop_accountant"))
        before = await stored()
        token = await csrf(client, "/abrechnung/bank")
        response = await client.post(
            "/abrechnung/bank",
            data={"_csrf": token},
            files={"file": ("auszug.xml", UNKNOWN_ENCODING, "application/xml")},
        )
        after = await stored()
        page = (await client.get("/abrechnung/bank")).text
    assert response.status_code == 303
    assert "kein lesbarer Kontoauszug" in page
    assert "x-nonsense" in page
    assert before == after


async def test_the_command_line_refuses_a_malformed_file_with_a_message_and_stores_nothing(tmp_path: Path) -> None:
    await Exchange.make()
    path = tmp_path / "auszug.xml"
    path.write_bytes(UNKNOWN_ENCODING)
    database = engine()
    url = f"sqlite:///{database.path}" if isinstance(database, SQLiteEngine) else TEST_DATABASE_URL
    before = await stored()
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "marketplace"),
        "bank",
        "import",
        str(path),
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 1
    assert "x-nonsense" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert before == await stored()
