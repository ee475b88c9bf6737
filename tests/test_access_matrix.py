"""The access matrix (issue 15): every URL that names an object, requested as each kind
of user, must answer what tests/access_matrix.py says; a refused request must write
nothing; a URL with object arguments missing from the table fails the suite; and an
altered customer or calendar link opens nothing."""

from __future__ import annotations

import pytest

from tests.access_matrix import COLUMNS, EXCLUDED, KNOWN_DEFECTS, REFUSED, ROWS, TAMPERED_LINKS, Row
from tests.security.probe import logged_in_client, request_once, url_for
from tests.security.routes import urls_with_object_arguments
from tests.security.world import rolled_back_world

pytestmark = pytest.mark.django_db


def test_every_url_with_an_object_argument_is_in_the_matrix():
    in_matrix = {row.name for row in ROWS}
    missing = sorted(set(urls_with_object_arguments()) - in_matrix - set(EXCLUDED))
    assert not missing, f"Add these URLs to tests/access_matrix.py (ROWS): {missing}"


def test_the_matrix_names_no_url_twice():
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))


def test_the_known_defects_are_cells_of_the_matrix():
    by_name = {row.name: row for row in ROWS}
    for name, method, column in KNOWN_DEFECTS:
        assert name in by_name and column in COLUMNS and method in ("get", "post")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, rolled back at its end: each request runs in a savepoint
    of its own, rolled back too (request_once), so every request meets the same world."""
    with django_db_blocker.unblock(), rolled_back_world() as built:
        yield built


def _args(world, row: Row) -> list:
    values = []
    for name in row.args:
        value = world[name]
        values.append(value.pk if hasattr(value, "pk") else value)
    return values


def _data(world, row: Row) -> dict:
    data = {}
    for key, value in (row.data or {}).items():
        if value.startswith("@"):
            name = value[1:]
            value = world.people[name] if name in world.people else world[name]
            value = value.pk
        data[key] = value
    return data


def _present_rows() -> list[Row]:
    present = urls_with_object_arguments()
    return [row for row in ROWS if row.name in present]


@pytest.mark.parametrize("row", _present_rows(), ids=lambda row: row.name)
def test_each_user_gets_what_the_matrix_says(world, row):
    # given
    url = url_for(row.name, _args(world, row))
    clients = {column: logged_in_client(world.people[column]) for column in COLUMNS}
    observed: dict[str, dict[str, str]] = {}
    leaks = []
    # when
    for method in ("get", "post"):
        if (row.get if method == "get" else row.post) is None:
            continue
        observed[method] = {}
        for column in COLUMNS:
            answer = request_once(clients[column], method, url, _data(world, row) if method == "post" else None)
            code = answer.code
            if code == "302" and method == "post" and not answer.wrote:
                code = "back"
            observed[method][column] = code
            wrote = set(answer.wrote) - set(row.logs)
            if answer.code in REFUSED and wrote:
                leaks.append(f"{method.upper()} {url} as {column}: {answer.code} but wrote {sorted(wrote)}")
    # then
    differences = []
    for method, codes in observed.items():
        expected = row.codes(method)
        for column, code in codes.items():
            defect = KNOWN_DEFECTS.get((row.name, method, column))
            if defect is not None:
                assert code == defect, f"{row.name} {method} {column} no longer {defect}: remove it from KNOWN_DEFECTS"
                continue
            if code != expected[column] and not (code == "back" and expected[column] == "302"):
                differences.append(f"{method.upper()} as {column}: expected {expected[column]}, got {code}")
    got = {method: " ".join(codes[column] for column in COLUMNS) for method, codes in observed.items()}
    assert not differences and not leaks, f"{row.name} {url}\n" + "\n".join(differences + leaks) + f"\nobserved: {got}"


@pytest.mark.parametrize("name", sorted(TAMPERED_LINKS))
def test_an_altered_link_opens_nothing(world, name):
    # given: the row's token with its last characters changed
    row = next(row for row in ROWS if row.name == name)
    args = _args(world, row)
    args[0] = args[0][:-3] + ("xyz" if not args[0].endswith("xyz") else "abc")
    # when
    answer = request_once(logged_in_client(None), "get", url_for(name, args))
    # then
    assert (answer.code, answer.wrote) == (TAMPERED_LINKS[name], ())


def test_the_probe_sees_what_a_request_changed_and_only_that(world):
    # given: the owner's unread notification
    client = logged_in_client(world.people["owner"])
    url = url_for("followups:notification_read", [world["notification"].pk])
    # when: it is marked read, then read again (nothing left to change)
    first = request_once(client, "post", url)
    page = request_once(client, "get", url_for("handoffs:deal_detail", [world["deal"].pk]))
    # then: the first write is seen, the rolled-back world is unchanged for the next request
    assert first.wrote == ("followups_notification",)
    assert page.wrote == ()
    world["notification"].refresh_from_db()
    assert world["notification"].read_at is None
