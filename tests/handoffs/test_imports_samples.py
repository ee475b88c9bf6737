"""The realistic export samples (tests/fixtures/imports/samples, see its README) through
the engine: each is recognised (source, kind, a complete mapping) and its dry run and run
do what the README says — the bad rows rejected, the rest imported, a re-import that
changes nothing, and the updated Salesforce file updating what changed."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Account, Contact
from handoffs.imports.choices import ImportKind, ImportSource, ImportStatus
from handoffs.imports.services import import_dry_run, import_run, import_set_mapping, import_start
from handoffs.models import Deal
from tests.handoffs.import_helpers import upload

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "samples"
# After the latest won close in the samples (their README), so no close date is in the future.
NOW = "2026-12-01 12:00Z"

RECOGNISED = [
    ("salesforce_accounts.csv", ImportSource.SALESFORCE, ImportKind.ACCOUNTS),
    ("salesforce_accounts_windows1252_semicolon.csv", ImportSource.SALESFORCE, ImportKind.ACCOUNTS),
    ("salesforce_contacts.csv", ImportSource.SALESFORCE, ImportKind.CONTACTS),
    ("salesforce_opportunities.csv", ImportSource.SALESFORCE, ImportKind.DEALS),
    ("hubspot_companies.csv", ImportSource.HUBSPOT, ImportKind.ACCOUNTS),
    ("hubspot_companies_utf16.csv", ImportSource.HUBSPOT, ImportKind.ACCOUNTS),
    ("hubspot_contacts.csv", ImportSource.HUBSPOT, ImportKind.CONTACTS),
    ("hubspot_deals.csv", ImportSource.HUBSPOT, ImportKind.DEALS),
    ("pipedrive_deals.csv", ImportSource.PIPEDRIVE, ImportKind.DEALS),
    ("pipedrive_organizations.csv", ImportSource.PIPEDRIVE, ImportKind.ACCOUNTS),
    ("pipedrive_persons.csv", ImportSource.PIPEDRIVE, ImportKind.CONTACTS),
    ("pipedrive_persons_utf8_bom.csv", ImportSource.PIPEDRIVE, ImportKind.CONTACTS),
]


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        # Every sample these tests name is committed: a missing one is a broken test, not a skip.
        pytest.fail(f"The import sample {name} is missing from {SAMPLES}.")
    return path.read_bytes()


def imported(actor, name: str):
    job = upload(actor, sample(name), name)
    job = import_set_mapping(actor=actor, job=job, mapping=job.column_mapping, owner_mapping={}, start_handoffs=False)
    report = import_dry_run(actor=actor, job=job)
    with mock.patch("handoffs.imports.services.current_app"):
        import_start(actor=actor, job=job)
    return import_run(job_id=job.pk), report


@pytest.mark.parametrize(("name", "source", "kind"), RECOGNISED, ids=[name for name, _, _ in RECOGNISED])
def test_each_sample_is_recognised_and_imports(manager, rep, other_rep, name, source, kind):
    # when
    job = upload(manager, sample(name), name)

    # then
    assert (job.source, job.object_kind, job.status) == (source, kind, ImportStatus.MAPPED)
    finished, report = imported(manager, name)
    assert finished.status == ImportStatus.DONE, finished.error
    assert report.row_counts.get("create", 0) > 0
    assert finished.rejected_count == report.row_counts.get("reject", 0)


def test_the_salesforce_owner_is_matched_by_the_email_column(manager, rep):
    job = upload(manager, sample("salesforce_opportunities.csv"), "salesforce_opportunities.csv")

    assert job.column_mapping["Owner Email"] == "owner"
    assert job.column_mapping["Opportunity Owner"] == ""


def test_the_salesforce_opportunities_reject_their_bad_rows_by_line(manager, rep, other_rep):
    finished, report = imported(manager, "salesforce_opportunities.csv")

    rejected = {row.line: row.reason for row in report.rows if row.action == "reject"}
    assert sorted(rejected) == [11, 12, 13]
    assert (finished.status, finished.rejected_count) == (ImportStatus.DONE, 3)
    assert "lots" in rejected[11] and "13/45/2026" in rejected[12]
    assert Deal.objects.get(external_id="0065g00000XyZ01AAV").stage == "won"
    assert not Deal.objects.filter(external_id="0065g00000XyZ06AAV").exists()  # lost: skipped
    assert Deal.objects.get(external_id="0065g00000XyZ01AAV").owner == rep


def test_the_updated_salesforce_file_updates_what_changed_and_a_second_import_nothing(manager, rep, other_rep):
    # given
    imported(manager, "salesforce_opportunities.csv")
    contoso = Deal.objects.get(external_id="0065g00000XyZ02AAV")

    # when
    _finished, report = imported(manager, "salesforce_opportunities_updated.csv")
    _again, second = imported(manager, "salesforce_opportunities_updated.csv")

    # then
    updated = {row.line for row in report.rows if row.action == "update"}
    created = {row.line for row in report.rows if row.action == "create"}
    assert len(updated) == 3 and created == {17}
    contoso.refresh_from_db()
    assert (str(contoso.amount), contoso.version) == ("132500.00", 2)
    assert Deal.objects.get(external_id="0065g00000XyZ04AAV").stage == "won"
    assert set(second.row_counts) <= {"skip", "reject"}


def test_the_samples_that_must_be_refused_are(manager):
    with pytest.raises(ValidationError):
        upload(manager, sample("empty.csv"))
    with pytest.raises(ValidationError) as refused:
        upload(manager, sample("not_csv_xlsx_renamed.csv"))
    assert "Excel" in refused.value.message_dict["file"][0]
    job = upload(manager, sample("salesforce_opportunities_missing_columns.csv"))
    assert job.status == ImportStatus.UPLOADED


def test_a_deal_twice_in_the_file_with_other_values_is_rejected_the_first_imported(manager):
    finished, report = imported(manager, "hubspot_deals_duplicates.csv")

    assert finished.status == ImportStatus.DONE
    assert [(row.line, row.action) for row in report.rows] == [(2, "create"), (3, "create"), (4, "reject")]
    assert "Duplicate of line 2" in report.rows[2].reason
    assert str(Deal.objects.get(external_id="9100000401").amount) == "10000.00"
    assert Account.objects.count() == 1 and Contact.objects.count() == 0


def test_an_account_row_with_only_its_id_is_rejected_not_created(manager, rep, other_rep):
    # when: Pipedrive's organisation 305 (line 6) has an id and nothing else
    finished, report = imported(manager, "pipedrive_organizations.csv")

    # then
    line_6 = next(row for row in report.rows if row.line == 6)
    assert line_6.action == "reject" and "no name" in line_6.reason
    assert (finished.status, finished.rejected_count) == (ImportStatus.DONE, 1)
    assert not Account.objects.filter(external_id="305").exists()
    assert Account.objects.filter(external_source="pipedrive").count() == 5


def test_an_opportunities_export_without_name_and_stage_says_so_and_imports_nothing(manager):
    # given: a Salesforce opportunities export without "Opportunity Name" and "Stage"
    job = upload(manager, sample("salesforce_opportunities_missing_columns.csv"))
    assert (job.object_kind, job.status) == (ImportKind.DEALS, ImportStatus.UPLOADED)
    lacks = "This looks like a Salesforce opportunities export but it lacks: Opportunity Name, Stage."

    # when / then: mapped as it is, or said to be a file of accounts, it is refused
    for kind in (None, ImportKind.ACCOUNTS):
        with pytest.raises(ValidationError) as refused:
            import_set_mapping(
                actor=manager,
                job=job,
                mapping=job.column_mapping,
                owner_mapping={},
                start_handoffs=False,
                object_kind=kind,
            )
        assert lacks in refused.value.message_dict["mapping"][0]
    with pytest.raises(ValidationError) as refused:
        import_dry_run(actor=manager, job=job)
    assert lacks in refused.value.message_dict["mapping"][0]
    assert not Account.objects.exists() and not Deal.objects.exists()
