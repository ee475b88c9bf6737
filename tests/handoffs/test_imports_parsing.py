"""Reading uploaded CSV files (issue 14): encodings, delimiters, quoted newlines and line
numbers, what is refused at the upload, and the guesses of source, kind and mapping."""

from __future__ import annotations

import codecs
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from handoffs.imports import engine, parsing
from handoffs.imports.choices import ImportKind, ImportSource, ImportStatus
from handoffs.imports.layouts import guess_kind, guess_mapping, guess_source, missing_required
from tests.handoffs.import_helpers import HUBSPOT_DEALS_HEADER, SALESFORCE_OPPORTUNITIES_HEADER, csv_bytes, upload

GENERIC = "Company;Deal;Amount;Contact;Email\r\nMüller & Söhne GmbH;Flottenwechsel €;12.500,00;Zoë Ångström;zoe@muller.example\r\n"


def read_all(data: bytes):
    sniffed, text = parsing.sniff(data)
    return sniffed, list(parsing.rows(text, delimiter=sniffed.delimiter))


# --- encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (GENERIC.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + GENERIC.encode("utf-8"), "utf-8-sig"),
        (GENERIC.encode("utf-16"), "utf-16"),  # with its BOM, as Excel's "Unicode text"
        (GENERIC.encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]), "utf-16"),
        (GENERIC.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8 with BOM", "utf-16 LE with BOM", "utf-16 BE with BOM", "windows-1252"],
)
def test_it_reads_each_encoding_into_the_same_cells(data, encoding):
    # when
    sniffed, rows = read_all(data)

    # then
    assert sniffed.encoding == encoding
    assert sniffed.header == ["Company", "Deal", "Amount", "Contact", "Email"]
    assert rows[0].cells == {
        "Company": "Müller & Söhne GmbH",
        "Deal": "Flottenwechsel €",
        "Amount": "12.500,00",
        "Contact": "Zoë Ångström",
        "Email": "zoe@muller.example",
    }


def test_it_reads_latin_1_accents():
    # given: Latin-1 has no €, so a file of accents only
    data = "Company,Contact\r\nCafé Crème SARL,Hélène Dupré\r\nNaïve Façade,Jürgen Weiß\r\n".encode("latin-1")

    # when
    sniffed, rows = read_all(data)

    # then: read as a Western single-byte encoding (cp1252 is a superset for these letters)
    assert sniffed.encoding in {"cp1252", "latin_1", "iso8859_15"}
    assert [row.cells["Contact"] for row in rows] == ["Hélène Dupré", "Jürgen Weiß"]


# --- delimiters, quotes, lines ---------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_it_finds_the_delimiter(delimiter):
    data = csv_bytes(["Account Name", "Amount", "Deal"], [["Acme, Inc.", "1,200.50", "Renewal"]], delimiter=delimiter)

    sniffed, rows = read_all(data)

    assert sniffed.delimiter == delimiter
    assert rows[0].cells == {"Account Name": "Acme, Inc.", "Amount": "1,200.50", "Deal": "Renewal"}


def test_semicolons_with_decimal_commas_are_not_taken_for_commas():
    data = b"Company;Amount;Deal\r\nAcme;1,5;A\r\nBeta;2,75;B\r\nGamma;3,0;C\r\n"

    sniffed, rows = read_all(data)

    assert sniffed.delimiter == ";"
    assert [row.cells["Amount"] for row in rows] == ["1,5", "2,75", "3,0"]


def test_quoted_newlines_stay_in_their_cell_and_line_numbers_count_the_file_lines():
    # given: line 2 holds a cell over three lines; the next row starts on line 5
    data = (
        b'Deal,Company,Notes\r\n"Fleet","Acme","first line\r\nsecond line\r\nthird, with ""quotes"""\r\n'
        b"Renewal,Beta,plain\r\n\r\nUpsell,Gamma,after a blank line\r\n"
    )

    # when
    _sniffed, rows = read_all(data)

    # then
    assert rows[0].cells["Notes"] == 'first line\r\nsecond line\r\nthird, with "quotes"'
    assert [row.line for row in rows] == [2, 5, 7]


def test_a_row_with_more_cells_than_columns_is_given_back_with_its_reason():
    data = b"Deal,Company\r\nA,Acme\r\nB,Beta,extra\r\nC,Gamma\r\n"

    _sniffed, rows = read_all(data)

    assert rows[1][0] == 3 and "3 cells" in rows[1][1]
    assert rows[2].line == 4


# --- refused at the upload ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty (0 bytes)"),
        (b"   \r\n\r\n", "no rows"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "Excel"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image"),
        (b"Deal,Deal\r\nA,B\r\n", "same name"),
    ],
    ids=["0 bytes", "blank", "xlsx", "pdf", "binary", "png", "duplicate columns"],
)
def test_it_refuses_what_is_not_a_csv_with_a_clear_reason(manager, data, message):
    with pytest.raises(ValidationError) as refused:
        upload(manager, data)

    assert message in refused.value.message_dict["file"][0]


@override_settings(BATON_IMPORT_MAX_BYTES=1024)
def test_it_refuses_a_file_over_the_size_limit(manager):
    data = csv_bytes(["Account Name"], [[f"Company {n}"] for n in range(200)])
    assert len(data) > 1024

    with pytest.raises(ValidationError) as refused:
        upload(manager, data)

    assert "at most" in refused.value.message_dict["file"][0] or "limit" in refused.value.message_dict["file"][0]


def test_only_managers_and_admins_upload(rep, delivery_lead, manager, admin_user):
    data = csv_bytes(["Account Name"], [["Acme"]])
    for user in (rep, delivery_lead):
        with pytest.raises(PermissionDenied):
            upload(user, data)
    assert upload(manager, data).created_by == manager
    assert upload(admin_user, data).created_by == admin_user


# --- guesses ------------------------------------------------------------------------------------


def test_it_recognises_a_hubspot_deals_export(manager):
    job = upload(
        manager,
        csv_bytes(HUBSPOT_DEALS_HEADER, [["1", "Deal", "Closed Won", "10", "", "", "", "Acme", "", "", "", "", ""]]),
    )

    assert (job.source, job.object_kind, job.status) == (ImportSource.HUBSPOT, ImportKind.DEALS, ImportStatus.MAPPED)
    assert job.column_mapping["Record ID"] == "deal.external_id"
    assert job.column_mapping["Associated Company ID"] == "account.external_id"
    assert job.column_mapping["Deal owner"] == "owner"


def test_it_recognises_a_salesforce_opportunities_export(manager):
    job = upload(manager, csv_bytes(SALESFORCE_OPPORTUNITIES_HEADER, [["006A"] + [""] * 13]))

    assert (job.source, job.object_kind) == (ImportSource.SALESFORCE, ImportKind.DEALS)
    assert job.column_mapping["Opportunity ID"] == "deal.external_id"
    assert job.column_mapping["Account ID"] == "account.external_id"
    assert job.column_mapping["Website"] == "account.domain"
    assert job.column_mapping["Opportunity Owner"] == "owner"


def test_it_recognises_pipedrive_and_the_kind_of_each_export():
    deals = [
        "Deal - ID",
        "Deal - Title",
        "Deal - Value",
        "Deal - Currency",
        "Deal - Status",
        "Organization - Name",
        "Person - Email",
    ]
    people = ["Person - ID", "Person - Name", "Person - Email", "Person - Organization"]
    organizations = ["Organization - ID", "Organization - Name", "Organization - Address"]

    assert guess_source(deals) == guess_source(people) == guess_source(organizations) == ImportSource.PIPEDRIVE
    assert guess_kind(guess_mapping("pipedrive", deals)) == ImportKind.DEALS
    assert guess_kind(guess_mapping("pipedrive", people)) == ImportKind.CONTACTS
    assert guess_kind(guess_mapping("pipedrive", organizations)) == ImportKind.ACCOUNTS
    assert guess_mapping("pipedrive", deals)["Deal - Status"] == "deal.status"


def test_hubspot_record_id_is_the_id_of_the_exported_object():
    companies = ["Record ID", "Company name", "Company Domain Name", "Industry", "Company owner"]
    contacts = ["Record ID", "First Name", "Last Name", "Email", "Associated Company"]

    assert guess_source(companies) == ImportSource.HUBSPOT
    assert guess_mapping("hubspot", companies)["Record ID"] == "account.external_id"
    assert guess_mapping("hubspot", contacts)["Record ID"] == "contact.external_id"


def test_a_file_of_unknown_columns_is_generic_and_waits_for_its_mapping(manager):
    job = upload(manager, b"Foo,Bar\r\n1,2\r\n")

    assert job.source == ImportSource.GENERIC
    assert job.status == ImportStatus.UPLOADED
    assert job.column_mapping == {"Foo": "", "Bar": ""}
    assert missing_required(ImportKind.ACCOUNTS, job.column_mapping) == ["Account: name"]


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "amount", "currency"),
    [
        ("12500", "12500.00", ""),
        ("12,500.00", "12500.00", ""),
        ("12.500,00 €", "12500.00", "EUR"),
        ("1.234.567", "1234567.00", ""),
        ("1234,5", "1234.50", ""),
        ("$ 1,200", "1200.00", "USD"),
        ("EUR 300", "300.00", "EUR"),
        ("300 CHF", "300.00", "CHF"),
        ("1 250,75", "1250.75", ""),
    ],
)
def test_amounts_are_read_in_the_usual_notations(cell, amount, currency):
    assert engine.parse_amount(cell) == (Decimal(amount), currency)


@pytest.mark.parametrize("cell", ["lots", "TBD", "1e999", "-5", "12,50,3.1.1", "n/a"])
def test_what_is_not_an_amount_is_refused(cell):
    with pytest.raises(engine.RowRejected):
        engine.parse_amount(cell)


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2026-10-14", datetime.date(2026, 10, 14)),
        ("2026-10-14 15:30", datetime.date(2026, 10, 14)),
        ("2026-10-09T16:42:05Z", datetime.date(2026, 10, 9)),
        ("10/14/2026", datetime.date(2026, 10, 14)),  # Salesforce, US locale
        ("3/1/2026", datetime.date(2026, 3, 1)),
        ("14/10/2026", datetime.date(2026, 10, 14)),  # the first number over 12: day first
        ("14.10.2026", datetime.date(2026, 10, 14)),
        ("", None),
    ],
)
def test_dates_are_read_in_the_usual_notations(cell, day):
    assert engine.parse_date(cell) == day


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("Closed Won", "", "won"),
        ("closedwon", "", "won"),
        ("Closed Lost", "", "lost"),
        ("Unknown", "", "qualify"),
        ("Prospecting", "", "qualify"),
        ("Needs Analysis", "", "discover"),
        ("Proposal/Price Quote", "", "propose"),
        ("Negotiation/Review", "", "negotiate"),
        ("Contract Sent", "", "negotiate"),
        ("Negotiations Started", "won", "won"),  # Pipedrive: the status decides
        ("Proposal Made", "open", "propose"),
        ("Closed Won", "open", "negotiate"),
        ("", "", "qualify"),
    ],
)
def test_stages_of_each_crm_become_batons_stages(stage, status, expected):
    assert engine.parse_stage(stage, status) == expected


@pytest.mark.parametrize(
    ("cell", "domain"),
    [
        ("https://www.Northwind.example/about?x=1", "northwind.example"),
        ("www.northwind.example", "northwind.example"),
        ("northwind.example", "northwind.example"),
        ("", ""),
    ],
)
def test_websites_become_domains(cell, domain):
    assert engine.parse_domain(cell) == domain


# --- Windows-1252 before Windows-1250 ---------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "samples"


def test_the_windows_1252_sample_is_not_read_as_central_european():
    # given: Excel's French "CSV (point-virgule)"; 0x8C is "Œ" in Windows-1252, "Ś" in 1250
    data = (SAMPLES / "salesforce_accounts_windows1252_semicolon.csv").read_bytes()

    # when
    sniffed, rows = read_all(data)

    # then
    assert sniffed.encoding == "cp1252"
    names = [row.cells["Account Name"] for row in rows]
    assert names == [
        "Société Générale d'Équipements",
        "Brasserie Müller & Söhne",
        "Café Crème; Lyon",
        "Œnologie Dupré — €uro Vins",
    ]


def test_a_western_file_that_both_encodings_read_keeps_its_sharp_s_and_oe():
    data = "Account Name;City\r\nGroßhandel Weiß & Œuvres;Köln\r\nCafé Straße;Besançon\r\n".encode("cp1252")

    sniffed, rows = read_all(data)

    assert sniffed.encoding == "cp1252"
    assert [row.cells["Account Name"] for row in rows] == ["Großhandel Weiß & Œuvres", "Café Straße"]


def test_a_polish_windows_1250_file_is_read_as_such_when_the_detector_is_sure():
    # given: Windows-1252 would read "Łódź" as "£ódŸ": the detector rules it out
    text = (
        "Nazwa;Miasto;Opiekun\r\n"
        "Zakład Usług Leśnych Łukasz Świątek;Łódź;Paweł Żak\r\n"
        "Piekarnia Śliwińskich;Wrocław;Michał Wiśniewski, żółć\r\n"
    )

    sniffed, rows = read_all(text.encode("cp1250"))

    assert sniffed.encoding == "cp1250"
    assert [row.cells["Miasto"] for row in rows] == ["Łódź", "Wrocław"]
    assert rows[0].cells["Nazwa"] == "Zakład Usług Leśnych Łukasz Świątek"
