"""A rep filters the deal list and downloads it as Excel from the Export menu."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.choices import Stage
from tests.factories import DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_downloads_the_filtered_deal_list_as_excel(page, login_as, rep):
    # given
    DealFactory(owner=rep, title="=Acme renewal", stage=Stage.PROPOSE)
    DealFactory(owner=rep, title="Globex pilot", stage=Stage.DISCOVER)
    login_as(rep)
    page.goto(f"/deals/?stage={Stage.PROPOSE}")
    expect(page.get_by_test_id("deal-table")).to_contain_text("=Acme renewal")
    # when
    page.get_by_test_id("export-menu").get_by_role("button", name="Export").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-menu").get_by_test_id("export-xlsx").first.click()
    # then: the filtered rows, named with the rep's today, the formula kept as text
    download = download_info.value
    today = timezone.localdate(timezone=rep.tzinfo)
    assert download.suggested_filename == f"deals-{today:%Y-%m-%d}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes())).worksheets[0]
    titles = [cell.value for (cell,) in sheet.iter_rows(min_row=2, min_col=2, max_col=2)]
    assert titles == ["=Acme renewal"]
    assert sheet.cell(2, 2).data_type == "s"
