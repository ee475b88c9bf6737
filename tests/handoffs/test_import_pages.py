"""Issue 14's import pages: who may use them, the upload's errors, the mapping, the dry
run's rows with their lines and reasons, the progress fragment, the rejected-rows CSV
and the history's scope. The engine itself is tested in tests/handoffs/test_imports*.py;
here it is called through the pages, as a manager or an admin would."""

from __future__ import annotations

import csv
import datetime
import io
import re
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from followups.tasks import make_dry_run
from handoffs.imports import engine
from handoffs.imports.choices import ImportStatus
from handoffs.imports.services import import_run
from handoffs.models import Deal, ImportJob
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "imports" / "samples"
# After the latest won close of the samples (README of the samples), any time of day.
NOW = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def upload(client, name: str, content: bytes | None = None, **options):
    data = {"file": SimpleUploadedFile(name, sample(name) if content is None else content, "text/csv")}
    data.update({"source": "", "object_kind": ""}, **options)
    return client.post(reverse("handoffs:import_upload"), data)


def uploaded_job(client, name: str) -> ImportJob:
    response = upload(client, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.defer("content").latest("pk")


def mapping_data(job: ImportJob, **overrides) -> dict[str, str]:
    """What the mapping form posts when the user keeps Baton's guess."""
    data = {"source": job.source, "object_kind": job.object_kind}
    for index, column in enumerate(job.header):
        data[f"column_{index}"] = job.column_mapping.get(column, "")
    data.update(overrides)
    return data


def owner_by_email(job: ImportJob) -> dict[str, str]:
    """Salesforce's files name the owner and give their e-mail: match on the e-mail."""
    if "Owner Email" not in job.header:
        return {}
    corrections = {f"column_{job.header.index('Owner Email')}": "owner"}
    for index, column in enumerate(job.header):
        if column != "Owner Email" and job.column_mapping.get(column) == "owner":
            corrections[f"column_{index}"] = ""
    return corrections


def dry_run(client, name: str, **overrides) -> ImportJob:
    job = uploaded_job(client, name)
    overrides = {**owner_by_email(job), **overrides}
    response = client.post(reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job, **overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("handoffs:import_dry_run", args=[job.pk])
    job.refresh_from_db()
    return job


def make_job(user, **fields) -> ImportJob:
    """A job as the engine leaves it at some status (for the pages that only read it)."""
    values = {
        "created_by": user,
        "team": user.team,
        "file_name": "deals.csv",
        "content": b"Deal Name,Amount\n",
        "encoding": "utf-8",
        "header": ["Deal Name", "Amount"],
        "source": "hubspot",
        "status": ImportStatus.DONE,
    }
    values.update(fields)
    return ImportJob.objects.create(**values)


# --- who may import ----------------------------------------------------------------------


PAGES = ["import_list", "import_upload"]
JOB_PAGES = ["import_detail", "import_mapping", "import_dry_run", "import_progress", "import_rejects"]


@pytest.mark.parametrize("role_fixture", ["rep", "delivery_lead"])
def test_reps_and_delivery_leads_are_refused_every_import_page(request, client_for, manager, role_fixture):
    # given: an import made by the manager of the rep's team
    user = request.getfixturevalue(role_fixture)
    job = make_job(manager)
    client = client_for(user)
    # when / then
    for name in PAGES:
        assert client.get(reverse(f"handoffs:{name}")).status_code == 403, name
    for name in JOB_PAGES:
        assert client.get(reverse(f"handoffs:{name}", args=[job.pk])).status_code == 403, name
    assert client.post(reverse("handoffs:import_start", args=[job.pk])).status_code == 403
    assert upload(client, "hubspot_deals.csv").status_code == 403
    assert not ImportJob.objects.exclude(pk=job.pk).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("handoffs:import_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_navigation_shows_imports_to_managers_and_admins_only(client_for, manager, admin_user, rep):
    link = f'href="{reverse("handoffs:import_list")}"'
    assert link in client_for(manager).get(reverse("followups:dashboard")).content.decode()
    assert link in client_for(admin_user).get(reverse("followups:dashboard")).content.decode()
    assert link not in client_for(rep).get(reverse("handoffs:my_day")).content.decode()


def test_a_manager_cannot_open_another_teams_import(client_for, manager, outsider_team_rep):
    # given: an import by the manager of another team
    other_manager = outsider_team_rep.team.manager
    job = make_job(other_manager)
    client = client_for(manager)
    # then: it does not exist for this manager
    for name in JOB_PAGES:
        assert client.get(reverse(f"handoffs:{name}", args=[job.pk])).status_code == 404, name
    assert client.post(reverse("handoffs:import_start", args=[job.pk])).status_code == 404


# --- the upload ----------------------------------------------------------------------------


def test_the_upload_page_shows_the_size_limit(client_for, manager, settings):
    settings.BATON_IMPORT_MAX_BYTES = 50 * 1024 * 1024
    html = client_for(manager).get(reverse("handoffs:import_upload")).content.decode()
    assert "50.0\xa0MB" in html
    assert 'enctype="multipart/form-data"' in html


def test_an_empty_file_is_refused_on_the_file_field_and_the_choices_stay(client_for, manager):
    # when: a 0-byte file, said to be a HubSpot export of contacts
    response = upload(client_for(manager), "empty.csv", source="hubspot", object_kind="contacts")
    # then: the error is on the file, in the summary, and the choices are still selected
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-summary"' in html
    assert "The submitted file is empty" in html
    assert re.search(r'<option value="hubspot"[^>]*selected', html)
    assert re.search(r'<option value="contacts"[^>]*selected', html)
    assert "choose the file again" in html
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(client_for, manager, settings):
    settings.BATON_IMPORT_MAX_BYTES = 1000
    response = upload(client_for(manager), "salesforce_opportunities.csv", source="salesforce")
    html = response.content.decode()
    assert response.status_code == 200
    assert "the limit is 1000" in html
    assert re.search(r'<option value="salesforce"[^>]*selected', html)
    assert not ImportJob.objects.exists()


def test_a_workbook_saved_as_csv_is_refused_as_not_csv(client_for, manager):
    response = upload(client_for(manager), "not_csv_xlsx_renamed.csv")
    assert response.status_code == 200
    assert "not a CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_goes_to_the_mapping_with_the_source_and_columns_guessed(client_for, manager):
    # when
    client = client_for(manager)
    job = uploaded_job(client, "hubspot_deals.csv")
    html = client.get(reverse("handoffs:import_mapping", args=[job.pk])).content.decode()
    # then: HubSpot, deals, and "Deal Name" goes to the deal's title
    assert job.source == "hubspot" and job.object_kind == "deals"
    assert re.search(r'<option value="hubspot"[^>]*selected', html)
    deal_name = job.header.index("Deal Name")
    select = re.search(rf'<select[^>]*name="column_{deal_name}".*?</select>', html, re.DOTALL).group(0)
    assert re.search(r'<option value="deal.title"[^>]*selected', select)


def test_the_source_chosen_at_the_upload_is_the_one_the_mapping_starts_from(client_for, manager):
    # when: a Pipedrive file said to be "any CSV"
    client = client_for(manager)
    response = upload(client, "pipedrive_deals.csv", source="csv")
    # then: the mapping page starts from the generic layout, until it is saved
    assert response.status_code == 302 and "source=csv" in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert re.search(r'<option value="csv"[^>]*selected', html)


def test_guess_again_guesses_the_columns_for_the_source_chosen_and_saves_nothing(client_for, manager):
    # given: a HubSpot file
    client = client_for(manager)
    job = uploaded_job(client, "hubspot_deals.csv")
    saved = dict(job.column_mapping)
    # when: the manager says it is any CSV and asks for a new guess
    data = mapping_data(job, source="csv", guess="1")
    response = client.post(reverse("handoffs:import_mapping", args=[job.pk]), data)
    # then: the page guesses for that source; the job is as it was
    assert response.status_code == 302 and "source=csv" in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert re.search(r'<option value="csv"[^>]*selected', html)
    job.refresh_from_db()
    assert job.source == "hubspot" and job.column_mapping == saved


def test_a_mapping_without_a_required_field_is_refused_and_keeps_the_corrections(client_for, manager):
    # given
    client = client_for(manager)
    job = uploaded_job(client, "hubspot_deals.csv")
    amount = job.header.index("Amount")
    stage = job.header.index("Deal Stage")
    # when: the amount column is unmapped, and the stage column moved to "status"
    data = mapping_data(job, **{f"column_{amount}": "", f"column_{stage}": "deal.status"})
    response = client.post(reverse("handoffs:import_mapping", args=[job.pk]), data)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-summary"' in html and "Deal: amount" in html
    select = re.search(rf'<select[^>]*name="column_{stage}".*?</select>', html, re.DOTALL).group(0)
    assert re.search(r'<option value="deal.status"[^>]*selected', select)
    job.refresh_from_db()
    assert job.status != ImportStatus.DRY_RUN_READY


def test_any_csv_is_imported_once_the_user_maps_its_columns(client_for, manager, rep, other_rep):
    # given: a spreadsheet no CRM wrote; Baton cannot tell what its columns are
    client = client_for(manager)
    job = uploaded_job(client, "generic_deals.csv")
    assert job.source == "csv" and job.status == ImportStatus.UPLOADED
    html = client.get(reverse("handoffs:import_mapping", args=[job.pk])).content.decode()
    assert re.search(r'<option value="csv"[^>]*selected', html)
    # when: the manager says where each column goes
    targets = {
        "Client": "account.name",
        "Client website": "account.domain",
        "Opportunity": "deal.title",
        "Value": "deal.amount",
        "Currency code": "deal.currency",
        "Status": "deal.status",
        "Closing date": "deal.close_date",
        "Salesperson e-mail": "owner",
        "Main contact": "contact.full_name",
        "Main contact e-mail": "contact.email",
        "Our ref": "deal.external_id",
    }
    data = {"source": "csv", "object_kind": "deals"}
    data.update({f"column_{job.header.index(column)}": field for column, field in targets.items()})
    response = client.post(reverse("handoffs:import_mapping", args=[job.pk]), data)
    # then: the dry run plans three deals and rejects the one without a number for its value
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert re.search(r'data-testid="dry-run-count-create">3<', html)
    assert not [marker for marker in ("{#", "#}", "{%", "{{") if marker in html]  # no template source shown
    line_5 = re.search(r'<tr data-testid="dry-run-line-5".*?</tr>', html, re.DOTALL).group(0)
    assert "Reject" in line_5 and "n/a" in line_5


# --- the dry run -----------------------------------------------------------------------------


def test_the_dry_run_shows_each_rows_line_action_and_reason(client_for, manager, rep, other_rep):
    # when
    client = client_for(manager)
    job = dry_run(client, "salesforce_opportunities.csv")
    html = client.get(reverse("handoffs:import_dry_run", args=[job.pk])).content.decode()
    # then: the bad rows, each at its line with its reason
    assert job.status == ImportStatus.DRY_RUN_READY
    rejected = int(re.search(r'data-testid="dry-run-count-reject">(\d+)<', html).group(1))
    assert rejected == 3
    line_11 = re.search(r'<tr data-testid="dry-run-line-11".*?</tr>', html, re.DOTALL).group(0)
    assert "Reject" in line_11 and "lots" in line_11
    line_12 = re.search(r'<tr data-testid="dry-run-line-12".*?</tr>', html, re.DOTALL).group(0)
    assert "Reject" in line_12 and "13/45/2026" in line_12
    assert 'data-testid="dry-run-line-13"' in html
    # and the lost deal is skipped, with why
    litware = re.search(r'<tr data-testid="dry-run-line-7".*?</tr>', html, re.DOTALL).group(0)
    assert "Skip" in litware and "lost" in litware.lower()
    # and the owners were matched by e-mail, the unknown one listed as such
    assert "jordan.lee@legacy-crm.example → " in html and "not a Baton user" in html
    assert f"rep@baton.test → {rep.get_full_name()}" in html
    # and nothing was written
    assert not Deal.objects.exists()


def test_the_dry_run_filters_its_rows_by_action(client_for, manager, rep, other_rep):
    client = client_for(manager)
    job = dry_run(client, "salesforce_opportunities.csv")
    html = client.get(reverse("handoffs:import_dry_run", args=[job.pk]), {"action": "reject"}).content.decode()
    lines = re.findall(r'data-testid="dry-run-line-(\d+)"', html)
    assert lines == ["11", "12", "13"]


def test_the_dry_run_of_a_long_file_is_paged(client_for, manager):
    # given: 130 rows, each without an amount (so each is listed with its reason); a
    # HubSpot deals file needs its stage column (it says open, won or lost)
    lines = ["Deal Name,Deal Stage,Amount,Associated Company"] + [
        f"Deal {n},Appointment Scheduled,,Company {n}" for n in range(130)
    ]
    client = client_for(manager)
    job = ImportJob.objects.none()
    response = upload(client, "long.csv", content="\n".join(lines).encode(), source="hubspot")
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    client.post(reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job))
    url = reverse("handoffs:import_dry_run", args=[job.pk])
    # when
    first = client.get(url).content.decode()
    last = client.get(url, {"page": 3}).content.decode()
    # then: 50 rows a page, lines 2–51 first, lines 102–131 on the third
    first_lines = [int(n) for n in re.findall(r'data-testid="dry-run-line-(\d+)"', first)]
    last_lines = [int(n) for n in re.findall(r'data-testid="dry-run-line-(\d+)"', last)]
    assert first_lines == list(range(2, 52))
    assert last_lines == list(range(102, 132))
    assert "Page 1 of 3" in first


def test_a_deals_export_lacking_a_deals_columns_says_so_on_the_mapping_page(client_for, manager):
    # when: a Salesforce opportunities export without "Opportunity Name" and "Stage"
    client = client_for(manager)
    response = upload(client, "salesforce_opportunities_missing_columns.csv")
    html = client.get(response["Location"]).content.decode()

    # then: said at once, and saving the mapping (even as accounts) makes no dry run
    lacks = "This looks like a Salesforce opportunities export but it lacks: Opportunity Name, Stage."
    assert re.search(rf'data-testid="import-lacks">{re.escape(lacks)}', html)
    job = ImportJob.objects.defer("content").latest("pk")
    response = client.post(reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job, object_kind="accounts"))
    assert response.status_code == 200 and lacks in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED


def test_make_the_dry_run_again_plans_the_file_anew(client_for, manager, rep, other_rep):
    # given: a dry run in which "Sam Sold" is nobody in Baton
    client = client_for(manager)
    job = dry_run(client, "hubspot_deals.csv")
    url = reverse("handoffs:import_dry_run", args=[job.pk])
    assert "Sam Sold → " in client.get(url).content.decode()
    assert "Make the dry run again" in client.get(url).content.decode()
    sam = UserFactory(username="sam", first_name="Sam", last_name="Sold", role=Role.REP, team=manager.team)

    # when: Sam joins the team, and the manager makes the dry run again
    response = client.post(url)

    # then: the new dry run names Sam as the owner of his deals
    assert response.status_code == 302 and response["Location"] == url
    html = client.get(url).content.decode()
    assert f"Sam Sold → {sam.get_full_name()}" in html
    job.refresh_from_db()
    assert job.status == ImportStatus.DRY_RUN_READY and job.dry_run_summary["owners"]["Sam Sold"] == sam.pk


def test_start_it_again_after_a_failed_import_queues_it_and_it_imports(
    client_for, manager, rep, other_rep, django_capture_on_commit_callbacks
):
    # given: an import that failed (nothing of it written)
    client = client_for(manager)
    job = dry_run(client, "hubspot_deals.csv")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error="OperationalError: gone")
    detail = client.get(reverse("handoffs:import_detail", args=[job.pk])).content.decode()
    assert "Start it again" in detail

    # when: started again
    with (
        mock.patch("handoffs.imports.services.current_app") as celery,
        django_capture_on_commit_callbacks(execute=True),
    ):
        celery.send_task.return_value.id = "task-2"
        response = client.post(reverse("handoffs:import_start", args=[job.pk]), {"start_handoffs": ""})

    # then: queued for a worker, the old error gone; the worker imports it
    assert response["Location"] == reverse("handoffs:import_detail", args=[job.pk])
    celery.send_task.assert_called_once_with("followups.tasks.run_import", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.error, job.celery_task_id) == (ImportStatus.QUEUED, "", "task-2")
    assert import_run(job_id=job.pk).status == ImportStatus.DONE
    assert Deal.objects.filter(external_source="hubspot").count() == 8


# --- a big file's dry run, made by a worker ---------------------------------------------------


def test_a_big_files_dry_run_is_made_by_a_worker_and_its_page_follows_it(
    client_for, manager, rep, other_rep, settings, django_capture_on_commit_callbacks
):
    # given: files of more than 5 rows have their dry run made by a worker
    settings.BATON_IMPORT_DRY_RUN_SYNC_ROWS = 5
    client = client_for(manager)
    job = uploaded_job(client, "salesforce_opportunities.csv")
    url = reverse("handoffs:import_dry_run", args=[job.pk])
    progress_url = reverse("handoffs:import_progress", args=[job.pk])

    # when: the mapping is saved
    with (
        mock.patch("handoffs.imports.services.current_app") as celery,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job, **owner_by_email(job))
        )

    # then: the task is sent by its name once the transaction commits; the page shows the
    # progress, polls, refreshes itself without JavaScript, and is there after a reload
    assert response.status_code == 302 and response["Location"] == url
    celery.send_task.assert_called_once_with("followups.tasks.make_dry_run", args=[job.pk])
    for _reload in range(2):
        page = client.get(url).content.decode()
        assert 'data-testid="dry-run-pending"' in page and 'data-testid="import-progress-bar"' in page
        assert "waiting for a worker" in page
        assert 'hx-trigger="every 1s"' in page and '<noscript><meta http-equiv="refresh"' in page
    assert client.get(reverse("handoffs:import_detail", args=[job.pk]))["Location"] == url
    assert client.get(progress_url, {"format": "json"}).json()["dry_run"] == "queued"
    assert not Deal.objects.exists()

    # when: a worker makes it
    assert make_dry_run(job.pk) == ImportStatus.DRY_RUN_READY

    # then: the fragment tells htmx to reload, and the page shows the report
    assert client.get(progress_url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    html = client.get(url).content.decode()
    assert re.search(r'data-testid="dry-run-count-reject">3<', html)
    assert 'data-testid="dry-run-line-11"' in html and "refresh" not in html.split("</head>")[0]
    assert make_dry_run(job.pk) == "not claimed"  # a redelivered task finds nothing to do
    assert not Deal.objects.exists()


def test_a_dry_run_that_stops_in_the_worker_says_so_and_may_be_made_again(
    client_for, manager, rep, settings, django_capture_on_commit_callbacks
):
    # given: a big file's dry run, queued
    settings.BATON_IMPORT_DRY_RUN_SYNC_ROWS = 5
    client = client_for(manager)
    job = uploaded_job(client, "hubspot_deals.csv")
    url = reverse("handoffs:import_dry_run", args=[job.pk])
    with mock.patch("handoffs.imports.services.current_app"), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job))

    # when: the worker's planning fails
    with mock.patch("handoffs.imports.engine.Plan.match", side_effect=RuntimeError("database went away")):
        make_dry_run(job.pk)

    # then: the page says so, without polling, and offers to make it again
    html = client.get(url).content.decode()
    assert 'data-testid="dry-run-failed"' in html and "database went away" in html
    assert 'hx-trigger="every 1s"' not in html and "Make the dry run again" in html
    with (
        mock.patch("handoffs.imports.services.current_app") as celery,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.post(url).status_code == 302
    celery.send_task.assert_called_once_with("followups.tasks.make_dry_run", args=[job.pk])
    assert make_dry_run(job.pk) == ImportStatus.DRY_RUN_READY


def test_a_queued_dry_run_overtaken_by_a_new_mapping_writes_nothing(
    client_for, manager, rep, settings, django_capture_on_commit_callbacks
):
    # given: a big file's dry run, queued
    settings.BATON_IMPORT_DRY_RUN_SYNC_ROWS = 5
    client = client_for(manager)
    job = uploaded_job(client, "hubspot_deals.csv")
    with mock.patch("handoffs.imports.services.current_app"), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("handoffs:import_mapping", args=[job.pk]), mapping_data(job))
    plan_file = engine.plan_file

    def plan_then_remap(**kwargs):
        plan = plan_file(**kwargs)
        # the manager saves another mapping while the worker plans
        ImportJob.objects.filter(pk=job.pk).update(dry_run_summary={})
        return plan

    # when
    with mock.patch("handoffs.imports.engine.plan_file", side_effect=plan_then_remap):
        make_dry_run(job.pk)

    # then: the worker's report is not recorded over the newer mapping
    job.refresh_from_db()
    assert (job.status, job.dry_run_summary, job.rejected_rows.count()) == (ImportStatus.MAPPED, {}, 0)


# --- the run: start, progress, summary ---------------------------------------------------------


def test_start_queues_the_import_after_the_dry_run(client_for, manager, rep, django_capture_on_commit_callbacks):
    client = client_for(manager)
    job = dry_run(client, "hubspot_deals.csv")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("handoffs:import_start", args=[job.pk]), {"start_handoffs": "on"})
    job.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == reverse("handoffs:import_detail", args=[job.pk])
    assert job.status == ImportStatus.QUEUED and job.start_handoffs is True
    assert len(callbacks) == 1  # the task is sent once the transaction commits


def test_the_progress_fragment_polls_every_second_while_the_import_runs(client_for, manager):
    # given: a run half-way, 40 rows a second
    started = timezone.now() - datetime.timedelta(seconds=5)
    job = make_job(
        manager,
        status=ImportStatus.RUNNING,
        rows_total=400,
        rows_done=200,
        started_at=started,
        progress_at=timezone.now(),
    )
    client = client_for(manager)
    # when
    fragment = client.get(reverse("handoffs:import_progress", args=[job.pk])).content.decode()
    page = client.get(reverse("handoffs:import_detail", args=[job.pk])).content.decode()
    data = client.get(reverse("handoffs:import_progress", args=[job.pk]), {"format": "json"}).json()
    # then
    assert 'hx-trigger="every 1s"' in fragment and "200 of 400 rows" in fragment
    assert '<progress class="w-100 import-progress" max="100" value="50"' in fragment
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh"' in page  # without JavaScript, the page reloads
    assert data["status"] == "running" and data["rows_done"] == 200 and data["rows_total"] == 400
    assert data["percent"] == 50
    assert data["rows_per_second"] == pytest.approx(40, rel=0.2)
    assert data["seconds_left"] == pytest.approx(5, abs=2)


def test_a_finished_import_stops_the_polling_and_reloads_the_page(client_for, manager):
    job = make_job(
        manager,
        status=ImportStatus.DONE,
        rows_total=10,
        rows_done=10,
        created_count=7,
        updated_count=1,
        skipped_count=1,
        rejected_count=1,
        finished_at=timezone.now(),
    )
    client = client_for(manager)
    response = client.get(reverse("handoffs:import_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    assert "hx-trigger" not in response.content.decode()
    page = client.get(reverse("handoffs:import_detail", args=[job.pk])).content.decode()
    assert "7 created, 1 updated, 1 skipped, 1 rejected" in page
    assert "refresh" not in page.split("</head>")[0]


def test_a_failed_import_says_nothing_was_imported_and_may_start_again(client_for, manager):
    job = make_job(manager, status=ImportStatus.FAILED, error="OperationalError: the server closed the connection")
    html = client_for(manager).get(reverse("handoffs:import_detail", args=[job.pk])).content.decode()
    assert "nothing of the file was imported" in html
    assert "the server closed the connection" in html
    assert reverse("handoffs:import_start", args=[job.pk]) in html


# --- the rejected rows -------------------------------------------------------------------------


def test_the_rejected_rows_download_has_each_line_and_reason_formula_escaped(client_for, manager, rep):
    # given: the HubSpot deals, two of them bad, one named with a formula
    client = client_for(manager)
    job = dry_run(client, "hubspot_deals.csv")
    # when
    response = client.get(reverse("handoffs:import_rejects", args=[job.pk]))
    # then: a streamed CSV
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "hubspot_deals-rejected-rows.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["line", "reason", "Record ID"]
    by_line = {row[0]: row for row in rows[1:]}
    assert set(by_line) == {"9", "10"}
    formula_row = by_line["9"]
    name = formula_row[rows[0].index("Deal Name")]
    assert name.startswith("'=HYPERLINK(")  # written as text, never run by a spreadsheet
    assert by_line["10"][1]  # with its reason
    assert by_line["10"][rows[0].index("Amount")] == "'-2500"


# --- the history ------------------------------------------------------------------------------


def test_the_history_shows_a_manager_their_teams_imports_and_an_admin_all(client_for, manager, admin_user):
    # given: one import by the manager, one by a manager of another team
    other_team = TeamFactory(name="Nordics")
    other_manager = UserFactory(username="nordics_manager", role=Role.MANAGER, team=other_team)
    ours = make_job(manager, file_name="ours.csv", created_count=12, updated_count=3, rejected_count=2)
    theirs = make_job(other_manager, file_name="theirs.csv")
    # when
    manager_html = client_for(manager).get(reverse("handoffs:import_list")).content.decode()
    admin_html = client_for(admin_user).get(reverse("handoffs:import_list")).content.decode()
    # then
    assert "ours.csv" in manager_html and "theirs.csv" not in manager_html
    row = re.search(rf'<tr data-testid="import-{ours.pk}".*?</tr>', manager_html, re.DOTALL).group(0)
    assert "HubSpot" in row and ">12<" in row and ">3<" in row and ">2<" in row and "Done" in row
    assert "ours.csv" in admin_html and "theirs.csv" in admin_html
    assert f'data-testid="import-{theirs.pk}"' in admin_html
