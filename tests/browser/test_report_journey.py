"""A manager reviews where batons were dropped: every type, a count's deals, the CSV, the chart."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.demo import seed_people
from followups.demo_report import seed_report_demo
from followups.rules import RULES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_reviews_the_dropped_batons_report(page, login_as):
    # given: the demo's stories, one per kind of dropped baton
    people = seed_people()
    seed_report_demo(people)
    people["maria"].set_password("password")
    people["maria"].save(update_fields=["password"])
    login_as(people["maria"])
    # when: the last six months
    page.goto("/report/")
    period_form = page.get_by_test_id("period-form")
    period_form.get_by_label("Period").select_option("custom")
    period_form.get_by_label("From").fill((timezone.localdate() - datetime.timedelta(days=180)).isoformat())
    period_form.get_by_label("To").fill(timezone.localdate().isoformat())
    period_form.get_by_role("button", name="Show").click()
    # then: every drop type is there with at least one baton
    for code in RULES:
        count = page.get_by_test_id(f"count-{code}")
        expect(count).to_be_visible()
        assert int(count.inner_text()) >= 1, code
    # and the trend chart is drawn
    expect(page.locator("canvas#drop-trend")).to_have_attribute("data-chart-rendered", "true")
    # when: from a count to its deals
    expected = page.get_by_test_id("count-ownership_not_accepted").inner_text()
    page.get_by_test_id("count-ownership_not_accepted").click()
    # then
    expect(page.get_by_role("heading", name="Ownership not accepted")).to_be_visible()
    expect(page.get_by_test_id("drilldown-count")).to_have_text(expected)
    expect(page.get_by_test_id("drilldown-table")).to_contain_text("Stark — phase 1")
    # when: the CSV of those deals
    with page.expect_download() as download_info:
        page.get_by_test_id("csv-drilldown").click()
    # then
    download = download_info.value
    assert download.suggested_filename == "dropped-batons-ownership_not_accepted.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert "Stark — phase 1" in content and "Hooli — stores" in content
