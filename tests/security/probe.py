"""Requests of the access matrix and the fuzz: one request as one user, in a savepoint
rolled back afterwards so every request meets the same world, with the tables it changed
found from PostgreSQL's own per-transaction statistics (pg_stat_xact_user_tables, which
see every insert, update and delete, whichever code made it) and confirmed by comparing
those tables' contents."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection, transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

# Tables a request may write whoever sends it: the session (an idle timeout stamps it),
# the login-protection log. Anything else written by a refused request is a leak.
BOOKKEEPING_TABLE_PREFIXES = ("django_session", "axes_")


def _writes_by_table() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return {name: count for name, count in cursor.fetchall() if not name.startswith(BOOKKEEPING_TABLE_PREFIXES)}


@dataclass(frozen=True)
class Answer:
    """What one request got: the matrix's code for it, and the tables it wrote to."""

    code: str
    status: int
    location: str
    wrote: tuple[str, ...]


def code_of(status: int, location: str) -> str:
    """The matrix's name for an answer: the status, or "login" for the redirect to the
    login page, "302" for any other redirect."""
    if status == 302 and location.split("?")[0] == resolve_url(settings.LOGIN_URL):
        return "login"
    # 303 See Other: a plain form's answer (accounts.common.http.see_other), a redirect too.
    return "302" if status == 303 else str(status)


def _fingerprints(tables: list[str]) -> dict[str, str]:
    """A digest of every row of each table: equal digests, equal contents."""
    digests = {}
    with connection.cursor() as cursor:
        for table in tables:
            # The name comes from pg_stat_xact_user_tables, quoted: not user input.
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {quoted} AS t")  # noqa: S608
            digests[table] = cursor.fetchone()[0]
    return digests


def request_once(client: Client, method: str, url: str, data: dict | None = None) -> Answer:
    """`method` `url` as the client's user, rolled back afterwards.

    The statistics name every table the request touched, including rows a service wrote
    and then rolled back itself; the tables whose contents differ after the request from
    after the rollback (the world as it was) are those it really changed."""
    with transaction.atomic():
        before = _writes_by_table()
        response = getattr(client, method)(url, data or {})
        after = _writes_by_table()
        touched = sorted(name for name, count in after.items() if count != before.get(name, 0))
        changed = _fingerprints(touched)
        transaction.set_rollback(True)
    unchanged = _fingerprints(touched)
    wrote = tuple(name for name in touched if changed[name] != unchanged[name])
    location = response.get("Location", "") if response.status_code in (301, 302, 303) else ""
    return Answer(code_of(response.status_code, location), response.status_code, location, wrote)


def url_for(name: str, args: list) -> str:
    return reverse(name, args=args)


def logged_in_client(user) -> Client:
    """A test client with `user`'s session (none for None). The session is written
    directly, as Client.force_login does, but without the user_logged_in signal: the
    login-protection log it would write is not what the matrix is about."""
    client = Client()
    if user is None:
        return client
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client
