"""Exports of every list as CSV and XLSX (accounts.common.exports and the lists' export
views): the rows the page lists with its filters, nothing another team's, formulas
defused in both formats, streamed, a fixed number of queries whatever the rows."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.common import exports
from accounts.common.exports import (
    BOOLEAN,
    DATE,
    DATETIME,
    NUMBER,
    TEXT,
    csv_chunks,
    is_formula_like,
    xlsx_chunks,
)
from followups.choices import CheckInStatus, MessagePurpose, MessageStatus, ReminderKind
from followups.models import OutboxMessage
from handoffs.choices import HandoffStatus, PromiseStatus, Stage
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    DealFactory,
    HandoffFactory,
    PromiseFactory,
    UserFactory,
)

# 20:00 UTC on 5 March: already 6 March in Tokyo.
NOW = datetime.datetime(2026, 3, 5, 20, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
FORMULAS = ['=HYPERLINK("http://evil")', "@SUM(A1)", "-2+3", "+44 20 7946 0000", "\tTabbed", "\rReturned"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_sheet(response):
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)))
    return workbook.worksheets[0]


def xlsx_rows(response) -> list[list[object]]:
    return [list(row) for row in xlsx_sheet(response).iter_rows(values_only=True)]


def export(client, name: str, **query):
    return client.get(reverse(name), query)


def ids_of(rows: list[list]) -> list[int]:
    return [int(row[0]) for row in rows[1:]]


# --- the one escaping rule, in both formats ----------------------------------------------


def test_it_escapes_formulas_in_csv_with_an_apostrophe(client_for, rep):
    # given
    for title in FORMULAS:
        DealFactory(owner=rep, title=title)
    # when
    rows = csv_rows(export(client_for(rep), "handoffs:deal_export", format="csv"))
    # then
    titles = sorted(row[1] for row in rows[1:])
    assert titles == sorted("'" + title for title in FORMULAS)


def test_it_writes_formulas_in_xlsx_as_quoted_text_cells_never_formulas(client_for, rep):
    # given
    for title in FORMULAS:
        DealFactory(owner=rep, title=title, amount=Decimal("1234.50"))
    # when
    sheet = xlsx_sheet(export(client_for(rep), "handoffs:deal_export", format="xlsx"))
    # then
    title_cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert sorted(cell.value for cell in title_cells) == sorted(FORMULAS)
    assert all(cell.data_type == "s" for cell in title_cells)
    assert all(cell.quotePrefix for cell in title_cells)
    amounts = [row[4] for row in sheet.iter_rows(min_row=2)]
    assert {cell.value for cell in amounts} == {1234.5} and all(cell.data_type == "n" for cell in amounts)


def test_a_plain_cell_is_not_marked_as_quoted():
    # given
    chunks = xlsx_chunks(["Name"], [["Acme"], ["=1+1"]], kinds=[TEXT])
    # when
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(chunks))).worksheets[0]
    # then
    assert [(cell.value, cell.quotePrefix) for (cell,) in sheet.iter_rows(min_row=2)] == [
        ("Acme", False),
        ("=1+1", True),
    ]
    assert not is_formula_like("Acme") and is_formula_like("=1+1") and not is_formula_like(None)


def test_it_keeps_unicode_in_both_formats(client_for, rep):
    # given
    DealFactory(owner=rep, title="Zoë — 東京 launch 🚀", account__name="Société Générale")
    client = client_for(rep)
    # when
    csv_row = csv_rows(export(client, "handoffs:deal_export", format="csv"))[1]
    xlsx_row = xlsx_rows(export(client, "handoffs:deal_export", format="xlsx"))[1]
    # then
    assert csv_row[1:3] == ["Zoë — 東京 launch 🚀", "Société Générale"]
    assert xlsx_row[1:3] == ["Zoë — 東京 launch 🚀", "Société Générale"]


def test_xlsx_drops_characters_xml_cannot_carry_and_types_each_kind():
    # given
    moment = datetime.datetime(2026, 3, 5, 23, 30, tzinfo=datetime.UTC)
    row = ["bell\x07 here", Decimal("12.50"), datetime.date(2026, 3, 1), moment, True, None]
    kinds = [TEXT, NUMBER, DATE, DATETIME, BOOLEAN, TEXT]
    # when
    chunks = xlsx_chunks(list("ABCDEF"), [row], kinds=kinds, zone=datetime.timezone(datetime.timedelta(hours=9)))
    values = next(openpyxl.load_workbook(io.BytesIO(b"".join(chunks))).worksheets[0].iter_rows(2, values_only=True))
    # then: the time is the zone's (09:00 the next day in UTC+9)
    assert values == (
        "bell here",
        12.5,
        datetime.datetime(2026, 3, 1),
        datetime.datetime(2026, 3, 6, 8, 30),
        "yes",
        None,
    )


def test_rows_beyond_a_sheet_continue_on_the_next_sheet():
    # given
    rows = [[number] for number in range(5)]
    # when
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx_chunks(["N"], rows, kinds=[NUMBER], max_rows=3))))
    # then: each sheet repeats the header and holds at most two rows
    assert workbook.sheetnames == ["Export", "Export 2", "Export 3"]
    assert [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets] == [
        [("N",), (0,), (1,)],
        [("N",), (2,), (3,)],
        [("N",), (4,)],
    ]


def test_a_sheet_too_big_for_a_plain_zip_entry_continues_on_the_next(monkeypatch):
    # given: a sheet limit of one byte, so that each ~64 KB written closes the sheet
    monkeypatch.setattr(exports, "XLSX_MAX_SHEET_BYTES", 1)
    rows = [[number, "x" * 100] for number in range(2_000)]
    # when
    chunks = xlsx_chunks(["N", "Text"], rows, kinds=[NUMBER, TEXT])
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))
    # then: every row once, in order, over several sheets each with its header
    assert len(workbook.worksheets) > 1
    numbers = [row[0] for sheet in workbook.worksheets for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == list(range(2_000))
    assert all(sheet.cell(1, 1).value == "N" for sheet in workbook.worksheets)


def test_an_empty_list_is_a_header_only_file(client_for, rep):
    client = client_for(rep)
    assert csv_rows(export(client, "handoffs:deal_export", format="csv"))[0][:2] == ["ID", "Deal"]
    assert xlsx_rows(export(client, "handoffs:deal_export", format="xlsx"))[0][:2] == ["ID", "Deal"]


# --- streaming -------------------------------------------------------------------------------


def test_the_export_streams_and_reads_no_row_before_it_is_sent(client_for, rep):
    # given
    DealFactory.create_batch(3, owner=rep)
    client = client_for(rep)
    # when
    with CaptureQueriesContext(connection) as before_streaming:
        response = export(client, "handoffs:deal_export", format="xlsx")
    with CaptureQueriesContext(connection) as while_streaming:
        content = body(response)
    # then
    assert isinstance(response, StreamingHttpResponse)
    assert not any('FROM "handoffs_deal"' in query["sql"] for query in before_streaming.captured_queries)
    assert len(while_streaming.captured_queries) == 1
    assert content.startswith(b"PK")


def test_the_writers_consume_rows_as_they_go_not_all_at_once():
    # given: a row source that counts what was taken from it
    taken = []

    def rows():
        for number in range(100_000):
            taken.append(number)
            yield [number, f"Deal {number}"]

    for chunks in (
        csv_chunks(["N", "Title"], rows(), kinds=[NUMBER, TEXT]),
        xlsx_chunks(["N", "Title"], rows(), kinds=[NUMBER, TEXT]),
    ):
        taken.clear()
        # when
        first = next(chunks)
        # then: the first chunk went out after a few thousand rows, not after all of them
        assert first and 0 < len(taken) < 20_000
        chunks.close()


# --- the list's own rows and filters -------------------------------------------------------------


def test_the_deal_export_lists_what_the_filtered_page_lists(client_for, rep, other_rep):
    # given
    DealFactory(owner=rep, title="Acme renewal", stage=Stage.PROPOSE)
    DealFactory(owner=rep, title="Acme pilot", stage=Stage.DISCOVER)
    DealFactory(owner=other_rep, title="Acme expansion", stage=Stage.PROPOSE)
    DealFactory(owner=rep, title="Globex", stage=Stage.PROPOSE)
    client = client_for(rep)
    query = {"q": "acme", "stage": Stage.PROPOSE, "o": "-title"}
    # when
    page = client.get(reverse("handoffs:deal_list"), query)
    rows = csv_rows(export(client, "handoffs:deal_export", format="csv", page="1", **query))
    # then: the same rows in the same order (the page's `page` is ignored: every row)
    page_ids = [deal.pk for deal in page.context["page_obj"].paginator.object_list]
    assert ids_of(rows) == page_ids
    assert [row[1] for row in rows[1:]] == ["Acme renewal", "Acme expansion"]
    assert rows[1][3] == "Propose"


def test_the_deal_export_has_every_row_not_one_page(client_for, rep):
    # given: more deals than a page shows
    DealFactory.create_batch(30, owner=rep)
    # when
    rows = csv_rows(export(client_for(rep), "handoffs:deal_export", format="csv"))
    # then
    assert len(rows) == 1 + 30


def test_a_rep_does_not_export_another_teams_deals_or_promises(client_for, rep, outsider_team_rep):
    # given
    mine = DealFactory(owner=rep, title="Mine")
    theirs = DealFactory(owner=outsider_team_rep, title="Theirs")
    PromiseFactory(deal=mine, description="Ours to keep")
    PromiseFactory(deal=theirs, description="Not ours")
    client = client_for(rep)
    # when
    deals = csv_rows(export(client, "handoffs:deal_export", format="csv"))
    promises = csv_rows(export(client, "handoffs:promise_export", format="csv"))
    # then
    assert [row[1] for row in deals[1:]] == ["Mine"]
    assert [row[4] for row in promises[1:]] == ["Ours to keep"]


def test_the_promise_export_follows_the_deal_lists_filters(client_for, rep):
    # given
    won = DealFactory(owner=rep, title="Won one", stage=Stage.WON, closed_on=TODAY, next_step="", next_step_due=None)
    open_deal = DealFactory(owner=rep, title="Open one")
    PromiseFactory(deal=won, description="SSO by May", target_date=datetime.date(2026, 5, 1))
    PromiseFactory(deal=open_deal, description="Pilot in April")
    # when
    rows = xlsx_rows(export(client_for(rep), "handoffs:promise_export", format="xlsx", stage="closed"))
    # then
    assert [(row[1], row[4], row[5], row[6]) for row in rows[1:]] == [
        ("Won one", "SSO by May", datetime.datetime(2026, 5, 1), PromiseStatus(PromiseStatus.OPEN).label)
    ]


def test_the_account_and_contact_exports_follow_the_account_lists_filters(client_for, rep, outsider_team_rep):
    # given
    acme = AccountFactory(owner=rep, name="Acme")
    AccountFactory(owner=rep, name="Globex")
    hidden = AccountFactory(owner=outsider_team_rep, name="Acme (another team)")
    ContactFactory(account=acme, first_name="Ada", last_name="Lovelace", phone="+44 20 7946 0000")
    ContactFactory(account=hidden, first_name="Not", last_name="Yours")
    client = client_for(rep)
    # when
    page = client.get(reverse("handoffs:account_list"), {"q": "acme"})
    accounts = csv_rows(export(client, "handoffs:account_export", format="csv", q="acme"))
    contacts = csv_rows(export(client, "handoffs:contact_export", format="csv", q="acme"))
    # then
    assert ids_of(accounts) == [account.pk for account in page.context["page_obj"].paginator.object_list]
    assert [row[1] for row in accounts[1:]] == ["Acme"]
    assert [(row[1], row[2], row[5], row[6]) for row in contacts[1:]] == [
        ("Ada", "Lovelace", "'+44 20 7946 0000", "Acme")
    ]


def test_the_handoff_export_follows_the_handoff_lists_filters(client_for, manager, rep, outsider_team_rep):
    # given
    accepted = HandoffFactory(deal__owner=rep, deal__title="Accepted one", status=HandoffStatus.ACCEPTED)
    HandoffFactory(deal__owner=rep, deal__title="Waiting one")
    HandoffFactory(deal__owner=outsider_team_rep, deal__title="Another team's", status=HandoffStatus.ACCEPTED)
    client = client_for(manager)
    # when
    page = client.get(reverse("handoffs:handoff_list"), {"status": HandoffStatus.ACCEPTED})
    rows = xlsx_rows(export(client, "handoffs:handoff_export", format="xlsx", status=HandoffStatus.ACCEPTED))
    # then
    assert ids_of(rows) == [handoff.pk for handoff in page.context["page"].paginator.object_list] == [accepted.pk]
    assert rows[1][1] == "Accepted one" and rows[1][-1] == "no"


def test_the_checkin_export_follows_the_rep_filter_and_the_overdue_list(client_for, manager, rep, other_rep):
    # given
    late = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY - datetime.timedelta(days=3))
    CheckInFactory(handoff__deal__owner=rep, due_on=TODAY + datetime.timedelta(days=3))
    CheckInFactory(handoff__deal__owner=other_rep, due_on=TODAY - datetime.timedelta(days=3))
    client = client_for(manager)
    # when
    everyone = csv_rows(export(client, "followups:checkin_export", format="csv"))
    reps_overdue = csv_rows(export(client, "followups:checkin_export", format="csv", rep=rep.pk, show="overdue"))
    page = client.get(reverse("followups:my_checkins"), {"rep": rep.pk, "show": "overdue"})
    # then
    assert len(everyone) == 1 + 3
    assert ids_of(reps_overdue) == [checkin.pk for checkin in page.context["overdue_page"].object_list] == [late.pk]
    assert reps_overdue[1][6:8] == [CheckInStatus(CheckInStatus.SCHEDULED).label, "yes"]


def test_a_rep_exports_only_their_own_checkins(client_for, rep, other_rep):
    # given
    mine = CheckInFactory(handoff__deal__owner=rep)
    CheckInFactory(handoff__deal__owner=other_rep)
    # when: a rep cannot widen the list with another rep's id
    rows = csv_rows(export(client_for(rep), "followups:checkin_export", format="csv", rep=other_rep.pk))
    # then
    assert ids_of(rows) == [mine.pk]


def outbox_row(user, *, item_id: int, status: str, purpose: str = MessagePurpose.REMINDER) -> OutboxMessage:
    return OutboxMessage.objects.create(
        purpose=purpose,
        kind=ReminderKind.STEP_OVERDUE,
        item_id=item_id,
        version=1,
        recipient=user,
        recipient_key=f"user:{user.pk}",
        status=status,
        first_due_at=NOW,
        send_after=NOW,
        subject="=cmd|' /C calc'!A0",
    )


def test_the_outbox_export_is_the_tab_shown_and_admins_only(client_for, admin_user, rep):
    # given
    failed = outbox_row(rep, item_id=1, status=MessageStatus.FAILED)
    outbox_row(rep, item_id=2, status=MessageStatus.PENDING)
    outbox_row(rep, item_id=3, status=MessageStatus.FAILED, purpose=MessagePurpose.INVITE)
    client = client_for(admin_user)
    # when
    rows = csv_rows(export(client, "followups:outbox_export", format="csv", purpose=MessagePurpose.REMINDER))
    sheet = xlsx_sheet(export(client, "followups:outbox_export", format="xlsx", status=MessageStatus.PENDING))
    # then: the default tab is "failed", as on the page
    assert ids_of(rows) == [failed.pk]
    assert rows[1][8] == "'=cmd|' /C calc'!A0" and rows[1][7] == str(rep)
    assert sheet.cell(2, 9).data_type == "s" and sheet.cell(2, 9).quotePrefix
    assert export(client_for(rep), "followups:outbox_export", format="csv").status_code == 403


def test_pages_a_role_may_not_open_refuse_their_exports(client_for, delivery_lead, rep):
    # given
    client = client_for(delivery_lead)
    # when / then: delivery leads have no deal list nor check-ins page
    assert export(client, "handoffs:deal_export", format="csv").status_code == 403
    assert export(client, "handoffs:promise_export", format="csv").status_code == 403
    assert export(client, "followups:checkin_export", format="csv").status_code == 403
    assert export(client_for(rep), "handoffs:deal_export", format="pdf").status_code == 404
    assert export(client_for(rep), "handoffs:deal_export").status_code == 404


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(reverse("handoffs:account_export"), {"format": "csv"})
    assert response.status_code == 302 and "login" in response["Location"]


# --- every list, both formats: names and headers ------------------------------------------


EXPORTS = [
    ("handoffs:deal_export", "deals", "Deal"),
    ("handoffs:promise_export", "promises", "Deal"),
    ("handoffs:account_export", "accounts", "Account"),
    ("handoffs:contact_export", "contacts", "First name"),
    ("handoffs:handoff_export", "handoffs", "Deal"),
    ("followups:checkin_export", "checkins", "Account"),
    ("followups:outbox_export", "outbox", "Created"),
]


@pytest.mark.parametrize(("url_name", "stem", "second_header"), EXPORTS)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_each_list_exports_as_a_dated_attachment_in_the_users_zone(
    client_for, url_name, stem, second_header, export_format
):
    # given: 6 March already in Tokyo
    client = client_for(UserFactory(role=Role.ADMIN, timezone="Asia/Tokyo"))
    # when
    response = client.get(reverse(url_name), {"format": export_format})
    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{stem}-2026-03-06.{export_format}"'
    assert response["Cache-Control"] == "private, no-store"
    header = csv_rows(response)[0] if export_format == "csv" else xlsx_rows(response)[0]
    assert header[:2] == ["ID", second_header]


def test_the_list_pages_link_their_exports_with_the_current_filters(client_for, manager, admin_user):
    # given
    client = client_for(manager)
    # when
    deals = client.get(reverse("handoffs:deal_list"), {"stage": "open", "page": "2"}).content.decode()
    accounts = client.get(reverse("handoffs:account_list"), {"q": "acme"}).content.decode()
    handoffs = client.get(reverse("handoffs:handoff_list"), {"status": "accepted"}).content.decode()
    checkins = client.get(reverse("followups:my_checkins"), {"show": "overdue"}).content.decode()
    outbox = client_for(admin_user).get(reverse("followups:outbox_admin"), {"status": "sent"}).content.decode()
    # then
    assert f"{reverse('handoffs:deal_export')}?stage=open&amp;format=xlsx" in deals
    assert f"{reverse('handoffs:promise_export')}?stage=open&amp;format=csv" in deals
    assert f"{reverse('handoffs:account_export')}?q=acme&amp;format=csv" in accounts
    assert f"{reverse('handoffs:contact_export')}?q=acme&amp;format=xlsx" in accounts
    assert f"{reverse('handoffs:handoff_export')}?status=accepted&amp;format=csv" in handoffs
    assert f"{reverse('followups:checkin_export')}?show=overdue&amp;format=csv" in checkins
    assert f"{reverse('followups:outbox_export')}?status=sent&amp;format=xlsx" in outbox


# --- a fixed number of queries, whatever the rows ---------------------------------------------


def queries_of(client, url_name: str, export_format: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = export(client, url_name, format=export_format)
        body(response)
    return len(captured.captured_queries)


@pytest.mark.parametrize(("url_name", "stem", "second_header"), EXPORTS)
def test_each_export_runs_the_same_queries_at_two_sizes(client_for, manager, admin_user, url_name, stem, second_header):
    # given
    rep = UserFactory(role=Role.REP, team=manager.team)

    def grow(count: int) -> None:
        for _ in range(count):
            checkin = CheckInFactory(handoff__deal__owner=rep, handoff__status=HandoffStatus.ACCEPTED)
            PromiseFactory(deal=checkin.handoff.deal)
            ContactFactory(account=checkin.account)
            DealFactory(owner=rep)
            outbox_row(rep, item_id=checkin.pk, status=MessageStatus.FAILED)

    client = client_for(admin_user if stem == "outbox" else manager)
    grow(2)
    queries_of(client, url_name, "csv")  # warm: the organisation's settings are read once, then cached
    small = {fmt: queries_of(client, url_name, fmt) for fmt in ("csv", "xlsx")}
    # when
    grow(9)
    large = {fmt: queries_of(client, url_name, fmt) for fmt in ("csv", "xlsx")}
    # then
    assert small == large
