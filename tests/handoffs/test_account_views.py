import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact, OwnershipChange
from accounts.services import account_create
from tests.factories import AccountFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def queries_of(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_a_rep_creates_an_account_and_lands_on_its_page(client_for, rep):
    response = client_for(rep).post(reverse("handoffs:account_create"), {"name": "Acme", "domain": "acme.test"})
    account = Account.objects.get()
    assert response["Location"] == reverse("handoffs:account_detail", args=[account.pk])
    assert account.owner == rep
    page = client_for(rep).get(response["Location"]).content.decode()
    assert "Account created" in page
    assert "first owner" in page


def test_an_account_needs_a_name_and_the_form_keeps_what_was_typed(client_for, rep):
    response = client_for(rep).post(reverse("handoffs:account_create"), {"name": "", "industry": "Typed industry"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert 'value="Typed industry"' in response.content.decode()
    assert not Account.objects.exists()


def test_a_duplicate_contact_email_shows_an_error_on_the_email_and_keeps_the_input(client_for, rep):
    # given
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, email="jo@acme.test")
    # when
    response = client_for(rep).post(
        reverse("handoffs:contact_create", args=[account.pk]), {"first_name": "Joanna", "email": "JO@acme.test"}
    )
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "already has this email address" in body
    assert 'value="Joanna"' in body
    assert Contact.objects.filter(account=account).count() == 1


def test_a_stale_account_edit_is_refused_and_keeps_what_was_typed(client_for, rep):
    account = AccountFactory(owner=rep, industry="Software")
    Account.objects.filter(pk=account.pk).update(version=3, industry="Their change")
    response = client_for(rep).post(
        reverse("handoffs:account_edit", args=[account.pk]),
        {"name": account.name, "industry": "My change", "size": "", "version": 1},
    )
    assert "changed by someone else" in response.content.decode()
    assert 'value="My change"' in response.content.decode()
    account.refresh_from_db()
    assert account.industry == "Their change"


def test_a_manager_reassigns_an_account_from_its_edit_page(client_for, manager, rep, other_rep):
    account = AccountFactory(owner=rep)
    client_for(manager).post(
        reverse("handoffs:account_edit", args=[account.pk]),
        {
            "name": account.name,
            "size": "",
            "version": 1,
            "owner": other_rep.pk,
            "owner_change_reason": "Rep on leave",
        },
    )
    account.refresh_from_db()
    assert account.owner == other_rep
    assert OwnershipChange.objects.get(account=account).reason == "Rep on leave"


def accounts_for(rep, count):
    for number in range(count):
        account = account_create(actor=rep, name=f"Account {number}")
        ContactFactory(account=account)
        DealFactory(owner=rep, account=account)


def test_the_account_list_runs_the_same_number_of_queries_for_3_or_30_accounts(client_for, rep):
    client = client_for(rep)
    accounts_for(rep, 3)
    small = queries_of(client, reverse("handoffs:account_list"))
    accounts_for(rep, 27)
    assert queries_of(client, reverse("handoffs:account_list")) == small


def test_the_account_page_runs_the_same_number_of_queries_with_more_contacts_deals_and_events(client_for, rep):
    account = account_create(actor=rep, name="Acme")
    client = client_for(rep)
    url = reverse("handoffs:account_detail", args=[account.pk])
    ContactFactory(account=account)
    DealFactory(owner=rep, account=account)
    # Warm, as the bench counts: the first load in a process also reads the deal's
    # content type into Django's cache (one query, whichever test ran before).
    queries_of(client, url)
    small = queries_of(client, url)
    for _ in range(10):
        ContactFactory(account=account)
        DealFactory(owner=rep, account=account)
    assert queries_of(client, url) == small


def test_the_account_list_searches_by_contact_name(client_for, rep):
    wanted = AccountFactory(owner=rep, name="Wanted")
    ContactFactory(account=wanted, first_name="Ottilie", last_name="Brand")
    AccountFactory(owner=rep, name="Unwanted")
    response = client_for(rep).get(reverse("handoffs:account_list"), {"q": "ottilie"})
    assert [account.name for account in response.context["page_obj"]] == ["Wanted"]


def test_a_later_page_of_the_account_list_shows_its_accounts_with_their_counts(client_for, rep):
    # given: 30 accounts, each with its number modulo 3 of contacts and of open deals
    for number in range(30):
        account = AccountFactory(owner=rep, name=f"Account {number:02d}")
        ContactFactory.create_batch(number % 3, account=account)
        DealFactory.create_batch(number % 3, owner=rep, account=account)
    client = client_for(rep)
    # when
    second = client.get(reverse("handoffs:account_list"), {"page": 2}).context["page_obj"]
    by_open_deals = client.get(reverse("handoffs:account_list"), {"o": "-open_deals", "page": 2}).context["page_obj"]
    # then: the page's own rows, in the list's order, with their own counts
    assert [account.name for account in second] == [f"Account {number}" for number in range(25, 30)]
    assert [(account.contact_count, account.open_deal_count) for account in second] == [
        (number % 3, number % 3) for number in range(25, 30)
    ]
    assert second.paginator.count == 30
    assert [account.open_deal_count for account in by_open_deals] == [0] * 5
    assert [account.name for account in by_open_deals] == [f"Account {number:02d}" for number in (15, 18, 21, 24, 27)]


def test_the_account_filters_keep_the_choice_and_say_what_is_wrong(client_for, rep):
    # given
    AccountFactory(owner=rep, name="Acme")
    client = client_for(rep)
    # when
    chosen = client.get(reverse("handoffs:account_list"), {"owner": rep.pk, "size": "11-50", "q": "acme"})
    wrong = client.get(reverse("handoffs:account_list"), {"owner": "abc", "size": "huge"})
    # then
    html = chosen.content.decode()
    assert f'<option value="{rep.pk}" selected>' in html
    assert '<option value="11-50" selected>' in html
    assert 'value="acme"' in html
    html = wrong.content.decode()
    assert 'aria-describedby="id_owner_error"' in html
    assert 'aria-describedby="id_size_error"' in html
    assert html.count("Select a valid choice.") == 2
    assert '<option value="" selected>Anyone</option>' not in html
