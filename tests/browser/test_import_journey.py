"""Issue 14 in Chromium: a manager imports a HubSpot export and a Salesforce export of
deals through the dry run, watches the progress bar while a real Celery worker runs the
import, imports the HubSpot file again unchanged (nothing changes), and downloads the
rejected rows with their reasons."""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from accounts.choices import Role
from handoffs.choices import Stage
from handoffs.imports.choices import ImportStatus
from handoffs.models import Deal, ImportJob
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "imports" / "samples"
# After the samples' latest won close (their README); the import checks dates against "today".
NOW = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC)


@contextlib.contextmanager
def celery_worker():
    """The real worker of tests/conftest.py's celery_worker_real, started when the test
    wants it: before it runs, the import waits in the queue with its progress bar shown."""
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def team_people(sales_team):
    """The people the samples name: "Rita Rep" (rep@baton.test), "Owen Other"
    (other_rep@baton.test) and their manager "Mia Manager"."""
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager", role=Role.MANAGER, team=sales_team)
    sales_team.manager = manager
    sales_team.save(update_fields=["manager"])
    rep = UserFactory(username="rep", first_name="Rita", last_name="Rep", role=Role.REP, team=sales_team)
    other = UserFactory(username="other_rep", first_name="Owen", last_name="Other", role=Role.REP, team=sales_team)
    return manager, rep, other


def upload(page, name: str) -> None:
    page.locator("#mainnav").get_by_role("link", name="Imports").click()
    page.get_by_role("link", name="Import a CSV").click()
    page.get_by_label("CSV file").set_input_files(str(SAMPLES / name))
    page.get_by_role("button", name="Upload and read the file").click()
    expect(page.get_by_test_id("import-mapping-form")).to_be_visible()


def dry_run_count(page, action: str) -> int:
    return int(page.get_by_test_id(f"dry-run-count-{action}").inner_text())


def summary(page) -> dict[str, int]:
    expect(page.get_by_test_id("import-done")).to_be_visible(timeout=30_000)
    return {key: int(page.get_by_test_id(f"import-{key}").inner_text()) for key in ("created", "updated", "rejected")}


def test_a_manager_imports_hubspot_and_salesforce_exports_through_the_dry_run(page, login_as, team_people):
    manager, rep, other = team_people
    with time_machine.travel(NOW, tick=True):
        # Logged in at the travelled time: a session opened at a pinned clock months
        # earlier (make test-clocks) would have expired by NOW.
        login_as(manager)
        # given: the HubSpot deals export, read and guessed
        upload(page, "hubspot_deals.csv")
        expect(page.get_by_test_id("import-source")).to_have_value("hubspot")
        expect(page.locator('select[data-column="Deal Name"]')).to_have_value("deal.title")

        # when: the manager keeps the guess and makes the dry run
        page.get_by_role("button", name="Save and make the dry run").click()

        # then: what will happen, row by row, with the bad rows' lines and reasons
        assert dry_run_count(page, "create") == 8
        assert dry_run_count(page, "skip") == 1
        assert dry_run_count(page, "reject") == 2
        expect(page.get_by_test_id("dry-run-line-9")).to_contain_text("not a date")
        expect(page.get_by_test_id("dry-run-line-10")).to_contain_text("-2500")
        expect(page.get_by_test_id("dry-run-line-8")).to_contain_text("Lost in the source")
        owners = page.get_by_test_id("dry-run-owners")
        expect(owners).to_contain_text("Rita Rep → Rita Rep")
        expect(owners).to_contain_text("Sam Sold → not a Baton user")

        # when: started with no worker running yet
        page.get_by_test_id("import-start").click()

        # then: the progress bar is shown, and is still there after a reload
        expect(page.get_by_test_id("import-progress-bar")).to_be_visible()
        expect(page.get_by_test_id("import-time-left")).to_have_text("waiting for a worker")
        page.reload()
        expect(page.get_by_test_id("import-progress-bar")).to_be_visible()
        hubspot_url = page.url

        # when: a worker comes, the page (polling every second) moves on to the summary
        with celery_worker():
            counts = summary(page)
            assert counts == {"created": 8, "updated": 0, "rejected": 2}
            northwind = Deal.objects.get(external_source="hubspot", external_id="9100000301")
            assert northwind.stage == Stage.WON and northwind.owner == rep
            assert Deal.objects.get(external_id="9100000310").owner == manager  # "Sam Sold": the importer

            # when: the same file again, unchanged
            upload(page, "hubspot_deals.csv")
            page.get_by_role("button", name="Save and make the dry run").click()
            assert dry_run_count(page, "create") == 0
            assert dry_run_count(page, "update") == 0
            page.get_by_test_id("import-start").click()

            # then: nothing changed
            assert summary(page) == {"created": 0, "updated": 0, "rejected": 2}
            assert Deal.objects.filter(external_source="hubspot").count() == 8

            # when: the Salesforce opportunities; the owner is matched on "Owner Email"
            upload(page, "salesforce_opportunities.csv")
            expect(page.get_by_test_id("import-source")).to_have_value("salesforce")
            page.locator('select[data-column="Opportunity Owner"]').select_option("")
            page.locator('select[data-column="Owner Email"]').select_option("owner")
            page.get_by_role("button", name="Save and make the dry run").click()
            assert dry_run_count(page, "reject") == 3
            expect(page.get_by_test_id("dry-run-line-13")).to_contain_text("TBD")
            # the owner nobody in Baton is given to Owen, on the mapping page
            page.get_by_role("link", name="Map the owners").click()
            page.locator('select[data-owner="jordan.lee@legacy-crm.example"]').select_option(str(other.pk))
            page.get_by_role("button", name="Save and make the dry run").click()
            expect(page.get_by_test_id("dry-run-owners")).to_contain_text("jordan.lee@legacy-crm.example → Owen Other")
            # and this time the won deals start their hand-offs
            page.get_by_test_id("dry-run-start").get_by_label("Won deals start their hand-offs").check()
            page.get_by_test_id("import-start").click()

            # then: imported; the four won deals are won, each waiting for its hand-off packet
            # (the export names no contacts), as a close from a CRM does
            counts = summary(page)
            assert counts == {"created": 10, "updated": 0, "rejected": 3}  # and Litware, lost, skipped
            expect(page.get_by_test_id("import-handoffs")).to_contain_text("4 won deals wait for their hand-off packet")
            assert Deal.objects.get(external_source="salesforce", external_id="0065g00000XyZ13AAV").owner == other
            northwind = Deal.objects.get(external_source="salesforce", external_id="0065g00000XyZ01AAV")
            assert northwind.owner == rep and northwind.stage == Stage.WON
            assert northwind.packet_pending_since is not None

        # and the history lists the three imports
        page.locator("#mainnav").get_by_role("link", name="Imports").click()
        history = page.get_by_test_id("import-history")
        expect(history.locator("tbody tr")).to_have_count(3)
        assert ImportJob.objects.filter(status=ImportStatus.DONE).count() == 3

        # when: back on the first HubSpot import, the rejected rows are downloaded
        page.goto(hubspot_url)
        with page.expect_download() as download_info:
            page.get_by_test_id("import-rejects-download").click()
        download = download_info.value

        # then: every rejected row with its line and reason, the formula made harmless
        assert download.suggested_filename == "hubspot_deals-rejected-rows.csv"
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
        header, body = rows[0], rows[1:]
        assert header[:2] == ["line", "reason"] and "Deal Name" in header
        assert [row[0] for row in body] == ["9", "10"]
        assert "not a date" in body[0][1] and body[1][1]
        assert body[0][header.index("Deal Name")].startswith("'=HYPERLINK(")
        assert body[1][header.index("Record ID")] == "9100000309"
