"""The accounts, contacts and /me/ endpoints: the same visibility and services as the pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import EventVerb
from accounts.models import Account, Contact, TimelineEvent
from tests.factories import AccountFactory, ContactFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_me_says_who_the_token_acts_as(api_client, manager):
    body = api_client(manager).get("/api/v1/me/").json()
    assert body["username"] == "manager"
    assert body["role"] == "manager"
    assert body["team"] == manager.team_id


def test_the_account_list_shows_what_the_account_pages_show(api_client, rep, other_rep, outsider_team_rep):
    # given: the rep's account, a teammate's, and another team's — one of whose deals the rep owns
    mine = AccountFactory(owner=rep, name="Mine")
    teammates = AccountFactory(owner=other_rep, name="Teammate's")
    elsewhere = AccountFactory(owner=outsider_team_rep, name="Elsewhere")
    with_my_deal = AccountFactory(owner=outsider_team_rep, name="With my deal")
    DealFactory(owner=rep, account=with_my_deal)
    # when
    ids = _ids(api_client(rep).get("/api/v1/accounts/"))
    # then
    assert set(ids) == {mine.pk, teammates.pk, with_my_deal.pk}
    assert elsewhere.pk not in ids


def test_a_delivery_lead_sees_only_the_accounts_they_own(api_client, delivery_lead, rep):
    AccountFactory(owner=rep)
    owned = AccountFactory(owner=delivery_lead)
    assert _ids(api_client(delivery_lead).get("/api/v1/accounts/")) == [owned.pk]


def test_the_account_list_filters_by_owner_team_and_search(api_client, manager, rep, other_rep):
    acme = AccountFactory(owner=rep, name="Acme Corp", domain="acme.test")
    globex = AccountFactory(owner=other_rep, name="Globex", domain="globex-industries.test")
    client = api_client(manager)
    assert _ids(client.get("/api/v1/accounts/", {"owner": rep.pk})) == [acme.pk]
    assert set(_ids(client.get("/api/v1/accounts/", {"team": rep.team_id}))) == {acme.pk, globex.pk}
    assert _ids(client.get("/api/v1/accounts/", {"search": "ACME"})) == [acme.pk]
    assert _ids(client.get("/api/v1/accounts/", {"search": "industries"})) == [globex.pk]


def test_the_account_list_pages_with_a_cursor(api_client, rep):
    accounts = [AccountFactory(owner=rep) for _ in range(5)]
    client = api_client(rep)
    first = client.get("/api/v1/accounts/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert seen == sorted((account.pk for account in accounts), reverse=True)
    assert third["next"] is None


def test_it_creates_an_account_through_the_service(api_client, rep):
    # when
    response = api_client(rep).post(
        "/api/v1/accounts/", {"name": " Acme ", "domain": "acme.test", "size": "11-50"}, format="json"
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(pk=body["id"])
    assert (account.name, account.owner, body["owner"]["id"], body["version"]) == ("Acme", rep, rep.pk, 1)
    assert account.ownership_changes.count() == 1
    assert TimelineEvent.objects.filter(account=account, verb=EventVerb.ACCOUNT_CREATED).exists()


def test_a_rep_may_not_give_a_new_account_to_someone_else(api_client, rep, other_rep):
    response = api_client(rep).post("/api/v1/accounts/", {"name": "Acme", "owner": other_rep.pk}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]


def test_a_delivery_lead_may_not_create_an_account(api_client, delivery_lead):
    response = api_client(delivery_lead).post("/api/v1/accounts/", {"name": "Acme"}, format="json")
    assert response.status_code == 403


def test_it_changes_an_account_with_its_version_and_refuses_a_stale_one(api_client, rep):
    # given
    account = AccountFactory(owner=rep, name="Acme")
    client = api_client(rep)
    # when
    first = client.patch(f"/api/v1/accounts/{account.pk}/", {"version": 1, "industry": "Retail"}, format="json")
    stale = client.patch(f"/api/v1/accounts/{account.pk}/", {"version": 1, "industry": "Mining"}, format="json")
    # then
    assert first.status_code == 200 and first.json()["version"] == 2 and first.json()["industry"] == "Retail"
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert "changed by someone else" in stale.json()["error"]["message"]
    account.refresh_from_db()
    assert account.industry == "Retail"


def test_a_patch_without_version_is_refused(api_client, rep):
    account = AccountFactory(owner=rep)
    response = api_client(rep).patch(f"/api/v1/accounts/{account.pk}/", {"name": "X"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


def test_a_manager_reassigns_an_account_with_a_reason(api_client, manager, rep, other_rep):
    account = AccountFactory(owner=rep)
    client = api_client(manager)
    refused = client.patch(f"/api/v1/accounts/{account.pk}/", {"version": 1, "owner": other_rep.pk}, format="json")
    assert refused.status_code == 400
    assert "owner_change_reason" in refused.json()["error"]["fields"]
    response = client.patch(
        f"/api/v1/accounts/{account.pk}/",
        {"version": 1, "owner": other_rep.pk, "owner_change_reason": "Rep left"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == other_rep.pk


def test_contacts_are_listed_filtered_created_and_changed(api_client, rep, outsider_team_rep):
    # given
    account = AccountFactory(owner=rep)
    # Names given in full: a random surname ("Bolton", "Robinson") would match "bo" too.
    ann = ContactFactory(account=account, first_name="Ann", last_name="Lee", email="ann@acme.test")
    bob = ContactFactory(account=AccountFactory(owner=rep), first_name="Bob", last_name="Smith")
    ContactFactory(account=AccountFactory(owner=outsider_team_rep))
    client = api_client(rep)
    # then: lists
    assert set(_ids(client.get("/api/v1/contacts/"))) == {ann.pk, bob.pk}
    assert _ids(client.get("/api/v1/contacts/", {"account": account.pk})) == [ann.pk]
    assert _ids(client.get("/api/v1/contacts/", {"email": "ANN@acme.test"})) == [ann.pk]
    assert _ids(client.get("/api/v1/contacts/", {"search": "bo"})) == [bob.pk]
    # when: created and changed
    created = client.post(
        "/api/v1/contacts/", {"account": account.pk, "first_name": "Cy", "email": "cy@acme.test"}, format="json"
    )
    assert created.status_code == 201, created.content
    changed = client.patch(f"/api/v1/contacts/{created.json()['id']}/", {"title": "CTO"}, format="json")
    # then
    assert changed.status_code == 200
    contact = Contact.objects.get(pk=created.json()["id"])
    assert (contact.account, contact.title) == (account, "CTO")
    assert TimelineEvent.objects.filter(account=account, verb=EventVerb.CONTACT_UPDATED).exists()


def _seed(owner, count: int) -> None:
    for _ in range(count):
        account = AccountFactory(owner=owner)
        ContactFactory(account=account)
        DealFactory(owner=owner, account=account)


@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/contacts/"])
@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead", "admin_user"])
def test_list_endpoints_run_the_same_queries_at_two_data_sizes(api_client, request, rep, path, who):
    # given
    user = request.getfixturevalue(who)
    client = api_client(user)
    client.get("/api/v1/me/")  # the token's first use writes last_used_at; not the list's cost
    _seed(rep, 3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    # when: ten times the data
    _seed(rep, 30)
    UserFactory.create_batch(5, team=rep.team)
    with CaptureQueriesContext(connection) as large:
        response = client.get(path)
    # then
    assert response.status_code == 200
    assert len(large) == len(small) <= 4, [query["sql"] for query in large.captured_queries]
