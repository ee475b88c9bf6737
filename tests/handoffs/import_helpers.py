"""Builders for the import tests: CSV bytes in the three CRMs' layouts, an upload, and
a job taken through mapping and dry run."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from handoffs.imports.services import import_dry_run, import_set_mapping, import_upload

HUBSPOT_DEALS_HEADER = [
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Amount",
    "Close Date",
    "Deal owner",
    "Associated Company ID",
    "Associated Company",
    "Company Domain Name",
    "Associated Contact ID",
    "First Name",
    "Last Name",
    "Email",
]

SALESFORCE_OPPORTUNITIES_HEADER = [
    "Opportunity ID",
    "Opportunity Name",
    "Account ID",
    "Account Name",
    "Website",
    "Stage",
    "Amount",
    "Close Date",
    "Opportunity Owner",
    "Lead Source",
    "Contact ID",
    "First Name",
    "Last Name",
    "Email",
]


def csv_bytes(header: list[str], rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def hubspot_deal(
    number: int,
    *,
    stage: str = "Appointment Scheduled",
    amount: str = "1000",
    owner: str = "",
    company: int | None = None,
) -> list[str]:
    company = number if company is None else company
    return [
        f"D{number}",
        f"Deal {number}",
        stage,
        amount,
        "2026-06-01",
        owner,
        f"C{company}",
        f"Company {company}",
        f"company{company}.example",
        f"P{number}",
        f"First{number}",
        f"Last{number}",
        f"person{number}@company{company}.example",
    ]


def hubspot_file(rows: list[list[str]], **options) -> bytes:
    return csv_bytes(HUBSPOT_DEALS_HEADER, rows, **options)


def upload(actor, data: bytes, name: str = "deals.csv"):
    return import_upload(actor=actor, uploaded_file=SimpleUploadedFile(name, data, content_type="text/csv"))


def dry_run(actor, data: bytes, *, name: str = "deals.csv", start_handoffs: bool = False, owner_mapping=None):
    job = upload(actor, data, name)
    job = import_set_mapping(
        actor=actor,
        job=job,
        mapping=job.column_mapping,
        owner_mapping=owner_mapping or {},
        start_handoffs=start_handoffs,
    )
    report = import_dry_run(actor=actor, job=job)
    return job, report
