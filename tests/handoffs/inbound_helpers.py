"""Shared arrangement of the inbound-close tests: the samples, a source, a signed POST."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.urls import reverse

from handoffs.inbound.services import inbound_source_create
from handoffs.inbound.signature import signature_of
from handoffs.models import InboundSource

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "inbound"
SAMPLE_OWNER_EMAIL = "rita@baton.example"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def make_source(admin, *, kind: str, slug: str | None = None, default_owner=None) -> InboundSource:
    return inbound_source_create(
        actor=admin, name=f"{kind.title()} main", slug=slug or f"{kind}-main", kind=kind, default_owner=default_owner
    )


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "HTTP_X_BATON_TIMESTAMP": stamp,
        "HTTP_X_BATON_SIGNATURE": signature_of(secret=secret, timestamp=stamp, body=body),
    }


def post_signed(client, source: InboundSource, body: bytes | dict, *, secret: str | None = None, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signed_headers(secret or source.secret, raw, timestamp=extra.pop("timestamp", None))
    headers.update(extra)
    return client.post(
        reverse("handoffs:inbound_receive", args=[source.slug]), data=raw, content_type="application/json", **headers
    )
