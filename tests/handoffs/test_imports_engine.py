"""The import engine (issue 14) against the real PostgreSQL: matching, re-imports that
change nothing, updates of what changed, owners, duplicates and bad rows, won deals and
their hand-offs, permissions, all or nothing, and queries that do not grow per row."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import EventVerb, Role
from accounts.models import Account, Contact, OrganisationSettings, OwnershipChange, TimelineEvent
from handoffs.choices import Stage
from handoffs.imports import engine
from handoffs.imports.choices import ImportStatus
from handoffs.imports.selectors import import_jobs_visible_to, import_progress, import_rejects_rows
from handoffs.imports.services import (
    import_dry_run,
    import_jobs_recover,
    import_run,
    import_set_mapping,
    import_start,
)
from handoffs.models import Deal, DealContact, Handoff, ImportJob
from tests.factories import AccountFactory, ContactFactory, TeamFactory, UserFactory
from tests.handoffs.import_helpers import (
    HUBSPOT_DEALS_HEADER,
    SALESFORCE_OPPORTUNITIES_HEADER,
    csv_bytes,
    dry_run,
    hubspot_deal,
    hubspot_file,
    upload,
)

pytestmark = pytest.mark.django_db
NOW = "2026-06-15 12:00Z"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def run_import(
    actor, data: bytes, *, name: str = "deals.csv", start_handoffs: bool = False, owner_mapping=None, **options
):
    job, report = dry_run(actor, data, name=name, start_handoffs=start_handoffs, owner_mapping=owner_mapping)
    with mock.patch("handoffs.imports.services.current_app") as app:
        app.send_task.return_value.id = "task-id"
        import_start(actor=actor, job=job)
    finished = import_run(job_id=job.pk, **options)
    return finished, report


def state_of_everything():
    """What a re-import must not change: every row's version and stamps, and the events."""
    return (
        sorted(Account.objects.values_list("pk", "version", "updated_at", "name", "domain")),
        sorted(Contact.objects.values_list("pk", "first_name", "email", "phone")),
        sorted(Deal.objects.values_list("pk", "version", "updated_at", "amount", "stage")),
        DealContact.objects.count(),
        TimelineEvent.objects.count(),
        OwnershipChange.objects.count(),
    )


# --- importing -------------------------------------------------------------------------


def test_it_imports_deals_with_their_accounts_and_contacts(manager, rep):
    # given: three deals of two companies, owned by the rep in HubSpot
    data = hubspot_file(
        [
            hubspot_deal(1, owner="rep@baton.test", amount="12,500.00"),
            hubspot_deal(2, owner="REP@baton.test", company=1),
            hubspot_deal(3, stage="Decision maker bought-in", owner=""),
        ]
    )

    # when
    job, report = run_import(manager, data)

    # then
    assert job.status == ImportStatus.DONE, job.error
    assert (job.created_count, job.updated_count, job.skipped_count, job.rejected_count) == (3, 0, 0, 0)
    assert report.counts == {"account": {"create": 2}, "contact": {"create": 3}, "deal": {"create": 3}}
    deal = Deal.objects.get(external_source="hubspot", external_id="D1")
    assert (deal.title, deal.amount, deal.owner, deal.team, deal.stage) == (
        "Deal 1",
        Decimal("12500.00"),
        rep,
        rep.team,
        Stage.DISCOVER,
    )
    assert deal.next_step and deal.next_step_due == datetime.date(2026, 6, 15)
    assert deal.account.external_id == "C1" and deal.account.domain == "company1.example"
    assert deal.account.owner == rep
    assert Deal.objects.get(external_id="D2").account == deal.account
    assert Deal.objects.get(external_id="D3").owner == manager  # no owner: the importer
    assert Deal.objects.get(external_id="D3").stage == Stage.NEGOTIATE
    assert [dc.contact.email for dc in deal.deal_contacts.all()] == ["person1@company1.example"]
    assert Contact.objects.get(external_id="P2").account == deal.account
    # one event per account touched, and the first row of its ownership history
    events = TimelineEvent.objects.filter(verb=EventVerb.IMPORTED, account=deal.account)
    assert [event.message for event in events] == [
        f"Imported from deals.csv (import #{job.pk}): account created, contact created ×2, deal created ×2."
    ]
    assert OwnershipChange.objects.filter(account=deal.account, to_user=rep).count() == 1
    assert job.summary["accounts_touched"] == 2


def test_reimporting_the_same_file_changes_nothing(manager, rep):
    # given
    data = hubspot_file([hubspot_deal(number, owner="rep@baton.test") for number in range(1, 6)])
    run_import(manager, data)
    before = state_of_everything()

    # when
    with time_machine.travel("2026-06-16 09:00Z", tick=False):
        job, report = run_import(manager, data, name="deals again.csv")

    # then
    assert job.status == ImportStatus.DONE
    assert report.row_counts == {"skip": 5}
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 0, 5)
    assert state_of_everything() == before


def test_an_updated_file_updates_only_what_changed(manager, rep):
    # given
    rows = [hubspot_deal(number, owner="rep@baton.test") for number in range(1, 4)]
    run_import(manager, hubspot_file(rows))
    untouched = Deal.objects.get(external_id="D1")
    events_before = TimelineEvent.objects.count()

    # when: deal 2 has a new amount and stage, contact 3 a new last name
    rows[1][2], rows[1][3] = "Contract Sent", "4200"
    rows[2][11] = "Married-Name"
    _job, report = run_import(manager, hubspot_file(rows), name="deals v2.csv")

    # then
    assert report.row_counts == {"skip": 1, "update": 2}
    changed = Deal.objects.get(external_id="D2")
    assert (changed.amount, changed.stage, changed.version) == (Decimal("4200.00"), Stage.NEGOTIATE, 2)
    assert Contact.objects.get(external_id="P3").last_name == "Married-Name"
    assert Deal.objects.get(external_id="D1").version == untouched.version == 1
    assert Deal.objects.get(external_id="D1").updated_at == untouched.updated_at
    new_events = TimelineEvent.objects.order_by("pk")[events_before:]
    assert sorted(event.message.split(": ", 1)[1] for event in new_events) == ["contact updated.", "deal updated."]
    outcome = next(row for row in report.rows if row.line == 3)
    assert outcome.action == "update" and "amount" in outcome.reason and "stage" in outcome.reason


def test_records_typed_by_hand_are_adopted_by_domain_and_email(manager, rep):
    # given: the company and the person exist in Baton without an id from the CRM
    account = AccountFactory(name="Company One", domain="company1.example", owner=rep, team=rep.team)
    contact = ContactFactory(account=account, first_name="Firsty", email="Person1@Company1.example")
    data = hubspot_file([hubspot_deal(1, owner="rep@baton.test")])

    # when
    _job, _report = run_import(manager, data)

    # then: no duplicate; the ids from HubSpot are kept on them
    assert Account.objects.count() == 1 and Contact.objects.count() == 1
    account.refresh_from_db()
    contact.refresh_from_db()
    assert (account.external_source, account.external_id, account.version) == ("hubspot", "C1", 2)
    assert (contact.external_id, contact.first_name) == ("P1", "First1")
    assert Deal.objects.get(external_id="D1").account == account


def test_accounts_without_ids_or_domains_are_matched_by_name_on_reimport(manager):
    # given: a generic file that names companies only
    data = csv_bytes(["Company", "Deal", "Amount"], [["Acme", "Renewal", "100"], ["Beta", "New fleet", "200"]])
    run_import(manager, data)
    before = state_of_everything()

    # when
    _job, report = run_import(manager, data)

    # then
    assert report.row_counts == {"skip": 2}
    assert state_of_everything() == before


def test_owners_come_from_the_mapping_then_by_email_or_name_else_the_importer(manager, rep, other_rep):
    # given: someone of another team is named too (a manager may not give them records)
    stranger = UserFactory(username="stranger", team=TeamFactory(name="Elsewhere"))
    data = hubspot_file(
        [
            hubspot_deal(1, owner="Rita from HubSpot"),
            hubspot_deal(2, owner="rep@baton.test"),
            hubspot_deal(3, owner=other_rep.get_full_name()),
            hubspot_deal(4, owner="stranger@baton.test"),
        ]
    )

    # when
    _job, report = run_import(manager, data, owner_mapping={"Rita from HubSpot": other_rep.pk})

    # then
    owners = dict(Deal.objects.values_list("external_id", "owner_id"))
    assert owners == {"D1": other_rep.pk, "D2": rep.pk, "D3": other_rep.pk, "D4": manager.pk}
    assert report.owners["stranger@baton.test"] is None
    assert stranger.owned_deals.count() == 0


def test_an_owner_mapping_to_someone_the_importer_may_not_assign_is_refused(manager):
    stranger = UserFactory(username="stranger", team=TeamFactory(name="Elsewhere"))
    job, _report = dry_run(manager, hubspot_file([hubspot_deal(1, owner="x")]))

    with pytest.raises(ValidationError) as refused:
        import_set_mapping(
            actor=manager, job=job, mapping=job.column_mapping, owner_mapping={"x": stranger.pk}, start_handoffs=False
        )
    assert "owner_mapping" in refused.value.message_dict


# --- bad rows ----------------------------------------------------------------------------


def test_duplicate_rows_are_skipped_and_conflicting_ones_rejected(manager):
    # given: line 3 repeats line 2; line 4 has deal 1's id with another amount
    first = hubspot_deal(1)
    conflicting = hubspot_deal(1, amount="999")
    data = hubspot_file([first, list(first), conflicting, hubspot_deal(2)])

    # when
    job, report = run_import(manager, data)

    # then
    assert Deal.objects.count() == 2
    by_line = {row.line: row for row in report.rows}
    assert (by_line[3].action, by_line[3].reason) == ("skip", "Same as line 2.")
    assert by_line[4].action == "reject" and "Duplicate of line 2" in by_line[4].reason
    assert (job.created_count, job.skipped_count, job.rejected_count) == (2, 1, 1)


def test_ten_percent_of_bad_rows_are_rejected_with_their_line_and_reason_and_the_rest_imported(manager):
    # given: 100 deals, every tenth broken in its own way
    rows = [hubspot_deal(number) for number in range(100)]
    breakages = {
        0: (3, "twelve"),  # amount
        10: (4, "31/31/2026"),  # close date
        20: (12, "not-an-email"),  # e-mail
        30: (1, ""),  # deal title
        40: (3, "100 XYZ"),  # currency
        50: (4, "1999-01-01"),  # implausible date
        60: (7, ""),  # no company at all (with no id, name nor domain)
        70: (3, "-5"),  # negative amount
        80: (3, "1e999"),  # not a plain number
        90: (1, ""),  # deal title again
    }
    for number, (column, value) in breakages.items():
        rows[number][column] = value
    rows[60][6] = rows[60][8] = ""
    data = hubspot_file(rows)

    # when
    job, _report = run_import(manager, data)

    # then
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.rejected_count) == (90, 10)
    assert Deal.objects.count() == 90
    rejected = list(import_rejects_rows(job))
    assert rejected[0][:2] == ["line", "reason"] and rejected[0][2:] == HUBSPOT_DEALS_HEADER
    assert [int(row[0]) for row in rejected[1:]] == [number + 2 for number in sorted(breakages)]
    reasons = {int(row[0]): row[1] for row in rejected[1:]}
    assert "“twelve” is not a number" in reasons[2]
    assert "not a date" in reasons[12]
    assert "not an e-mail address" in reasons[22]
    assert "no title" in reasons[32]
    assert "XYZ" in reasons[42]
    assert "not plausible" in reasons[52]
    assert "names no account" in reasons[62]
    # the cells of a rejected row come back as they were
    assert rejected[1][2:] == rows[0]


def test_lost_deals_are_skipped(manager):
    data = hubspot_file([hubspot_deal(1, stage="Closed Lost"), hubspot_deal(2)])

    _job, report = run_import(manager, data)

    assert list(Deal.objects.values_list("external_id", flat=True)) == ["D2"]
    assert "Lost in the source" in next(row for row in report.rows if row.line == 2).reason
    assert not Account.objects.filter(external_id="C1").exists()


def test_missing_required_columns_are_refused_up_front(manager):
    # given: a Salesforce file without amounts
    header = [column for column in SALESFORCE_OPPORTUNITIES_HEADER if column != "Amount"]
    job = upload(manager, csv_bytes(header, [["006", "Big deal", "001", "Acme"] + [""] * 9]))

    # then: the guess does not cover it; neither mapping nor dry run goes through
    assert job.status == ImportStatus.UPLOADED
    with pytest.raises(ValidationError) as refused:
        import_set_mapping(actor=manager, job=job, mapping=job.column_mapping, owner_mapping={}, start_handoffs=False)
    assert "Deal: amount" in refused.value.message_dict["mapping"][0]
    with pytest.raises(ValidationError):
        import_dry_run(actor=manager, job=job)


def test_two_contacts_with_one_email_in_an_account_are_refused_not_crashing_the_run(manager):
    # given: two persons with different ids but the same e-mail at the same company
    rows = [hubspot_deal(1), hubspot_deal(2, company=1)]
    rows[1][12] = rows[0][12]
    data = hubspot_file(rows)

    job, report = run_import(manager, data)

    assert job.status == ImportStatus.DONE
    assert job.rejected_count == 1
    assert "already has the e-mail" in next(row for row in report.rows if row.line == 3).reason


# --- won deals ---------------------------------------------------------------------------


def test_won_deals_are_imported_won_without_a_hand_off_unless_asked(manager, rep):
    data = hubspot_file([hubspot_deal(1, stage="Closed Won", owner="rep@baton.test")])

    _job, _report = run_import(manager, data)

    deal = Deal.objects.get(external_id="D1")
    assert (deal.stage, deal.closed_on, deal.next_step_due) == (Stage.WON, datetime.date(2026, 6, 1), None)
    assert not Handoff.objects.exists()


def test_won_deals_wait_for_their_packet_as_a_close_from_a_crm(manager, rep):
    # given: the default gate (context, two contacts, promises) which one row cannot fill
    data = hubspot_file([hubspot_deal(1, stage="Closed Won", owner="rep@baton.test")])

    # when
    job, report = run_import(manager, data, start_handoffs=True)

    # then
    assert report.handoffs_to_start == 1
    deal = Deal.objects.get(external_id="D1")
    assert deal.stage == Stage.WON and deal.closed_on == datetime.date(2026, 6, 1)
    assert deal.packet_pending_since is not None
    assert not Handoff.objects.filter(deal=deal).exists()
    assert job.summary["packets_pending"] == 1
    assert TimelineEvent.objects.filter(verb=EventVerb.DEAL_WON, subject_id=deal.pk).count() == 1


def test_won_deals_start_their_hand_off_when_the_gate_is_met_and_a_reimport_does_not_close_them_again(manager, rep):
    # given: an organisation whose gate asks for nothing
    OrganisationSettings.load()
    OrganisationSettings.objects.filter(pk=1).update(
        gate_requires_context=False, gate_min_contacts=0, gate_requires_promises=False
    )
    data = hubspot_file([hubspot_deal(1, stage="Closed Won", owner="rep@baton.test"), hubspot_deal(2)])

    # when
    job, _report = run_import(manager, data, start_handoffs=True)
    before = state_of_everything()
    _again, report = run_import(manager, data, start_handoffs=True)

    # then
    handoff = Handoff.objects.get(deal__external_id="D1")
    assert (handoff.rep, handoff.closed_on) == (rep, datetime.date(2026, 6, 1))
    assert job.summary["handoffs_started"] == 1
    assert Handoff.objects.count() == 1
    assert report.row_counts == {"skip": 2}
    assert state_of_everything() == before


# --- who may import ------------------------------------------------------------------------


def test_reps_and_delivery_leads_may_not_import_and_managers_see_their_teams_imports(manager, rep, delivery_lead):
    job, _report = dry_run(manager, hubspot_file([hubspot_deal(1)]))
    other_manager = UserFactory(username="other_manager", role=Role.MANAGER, team=TeamFactory(name="Other"))

    for user in (rep, delivery_lead, other_manager):
        with pytest.raises(PermissionDenied):
            import_dry_run(actor=user, job=job)
        with pytest.raises(PermissionDenied):
            import_start(actor=user, job=job)
    assert list(import_jobs_visible_to(manager)) == [job]
    assert list(import_jobs_visible_to(other_manager)) == []
    assert list(import_jobs_visible_to(rep)) == []


def test_a_row_matching_another_teams_account_is_rejected(manager, rep):
    # given: HubSpot's company 1 is already in Baton, held by another team
    elsewhere = UserFactory(username="elsewhere", team=TeamFactory(name="Elsewhere"))
    AccountFactory(name="Theirs", owner=elsewhere, team=elsewhere.team, external_source="hubspot", external_id="C1")

    job, report = run_import(manager, hubspot_file([hubspot_deal(1), hubspot_deal(2)]))

    assert job.rejected_count == 1
    assert "a team you do not manage" in next(row for row in report.rows if row.line == 2).reason
    assert not Deal.objects.filter(external_id="D1").exists()
    assert Account.objects.get(external_id="C1").version == 1


def test_admins_import_for_any_team(admin_user, rep):
    _job, _report = run_import(admin_user, hubspot_file([hubspot_deal(1, owner="rep@baton.test")]))

    assert Deal.objects.get(external_id="D1").owner == rep


# --- all or nothing -------------------------------------------------------------------------


def test_a_failure_mid_run_rolls_back_everything_and_the_job_may_start_again(manager, monkeypatch):
    # given: chunks of 10 rows, and a run that fails once 20 rows are written
    monkeypatch.setattr(engine, "CHUNK_ROWS", 10)
    data = hubspot_file([hubspot_deal(number) for number in range(50)])

    # when
    job, _report = run_import(manager, data, fail_after_rows=20)

    # then: nothing at all was written, and the job says why
    assert job.status == ImportStatus.FAILED
    assert "Injected failure after 20 rows" in job.error
    assert (Account.objects.count(), Contact.objects.count(), Deal.objects.count()) == (0, 0, 0)
    assert not TimelineEvent.objects.exists() and not OwnershipChange.objects.exists()

    # when: started again
    with mock.patch("handoffs.imports.services.current_app"):
        import_start(actor=manager, job=job)
    job = import_run(job_id=job.pk)

    # then
    assert job.status == ImportStatus.DONE
    assert Deal.objects.count() == 50


def test_a_job_runs_once(manager):
    job, _report = run_import(manager, hubspot_file([hubspot_deal(1)]))

    assert import_run(job_id=job.pk) is None
    with pytest.raises(ValidationError):
        import_start(actor=manager, job=job)


def test_the_task_is_sent_on_commit_by_its_name(manager, django_capture_on_commit_callbacks):
    job, _report = dry_run(manager, hubspot_file([hubspot_deal(1)]))

    with mock.patch("handoffs.imports.services.current_app") as app:
        app.send_task.return_value.id = "abc"
        with django_capture_on_commit_callbacks(execute=True):
            import_start(actor=manager, job=job, start_handoffs=True)

    app.send_task.assert_called_once_with("followups.tasks.run_import", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.start_handoffs, job.celery_task_id) == (ImportStatus.QUEUED, True, "abc")


def test_a_running_job_whose_run_died_is_marked_failed(manager):
    # given: a job left running, and no session holds its lock
    job, _report = dry_run(manager, hubspot_file([hubspot_deal(1)]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)

    # when
    marked = import_jobs_recover()

    # then
    job.refresh_from_db()
    assert marked == 1
    assert job.status == ImportStatus.FAILED and "nothing of the file was imported" in job.error


# --- set-based ----------------------------------------------------------------------------------


def queries_to_import(actor, rows: int) -> tuple[int, int]:
    ContentType.objects.get_for_model(Account)  # cached after the first read, whichever test runs first
    data = hubspot_file([hubspot_deal(number, company=number // 3) for number in range(rows)])
    job, _report = dry_run(actor, data)
    with CaptureQueriesContext(connection) as planned:
        import_dry_run(actor=actor, job=job)
    with mock.patch("handoffs.imports.services.current_app"):
        import_start(actor=actor, job=job)
    with CaptureQueriesContext(connection) as ran:
        finished = import_run(job_id=job.pk)
    assert finished.status == ImportStatus.DONE
    Deal.objects.all().delete()
    DealContact.objects.all().delete()
    TimelineEvent.objects.all().delete()
    OwnershipChange.objects.all().delete()
    Contact.objects.all().delete()
    Account.objects.all().delete()
    return len(planned), len(ran)


def test_the_queries_do_not_grow_with_the_rows(manager):
    # given: one chunk either way
    small = queries_to_import(manager, 12)
    large = queries_to_import(manager, 300)

    # then
    assert small == large


def test_the_writes_go_by_chunks(manager, monkeypatch):
    # given: chunks of 100 rows
    monkeypatch.setattr(engine, "CHUNK_ROWS", 100)

    # when
    one_chunk = queries_to_import(manager, 100)[1]
    two_chunks = queries_to_import(manager, 200)[1]
    three_chunks = queries_to_import(manager, 300)[1]

    # then: each chunk costs the same few statements, whatever its size
    per_chunk = two_chunks - one_chunk
    assert three_chunks - two_chunks == per_chunk
    assert 0 < per_chunk <= 12


def test_progress_reads_rows_per_second_and_time_left(manager):
    job, _report = dry_run(manager, hubspot_file([hubspot_deal(number) for number in range(4)]))
    started = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        rows_total=1000,
        rows_done=250,
        started_at=started,
        progress_at=started + datetime.timedelta(seconds=5),
    )

    progress = import_progress(job)

    assert (progress.rows_done, progress.percent, progress.rows_per_second, progress.seconds_left) == (
        250,
        25,
        50.0,
        15,
    )
    assert not progress.finished
