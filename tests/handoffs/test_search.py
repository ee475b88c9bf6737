"""Global search (issue 16): what a user finds, in which order, at what cost, and the page
and dropdown that show it (handoffs/search.py, handoffs/views/search.py)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact
from accounts.services import contact_anonymise
from handoffs import search as search_module
from handoffs.access import handoffs_visible_to
from handoffs.choices import HandoffStatus
from handoffs.models import Deal
from handoffs.search import _word_in, search_everything
from tests.factories import AccountFactory, ContactFactory, DealFactory, HandoffFactory

NOW = datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]


def titles(rows) -> list[str]:
    return [str(row) for row in rows]


# --- who finds what ------------------------------------------------------------------


def test_a_rep_finds_their_deal_but_not_another_teams(rep, outsider_team_rep):
    # given: two deals with the same word, one the rep's, one of another sales team
    DealFactory(owner=rep, title="Orbital fleet renewal")
    DealFactory(owner=outsider_team_rep, title="Orbital launch services")

    # when
    found = search_everything(user=rep, query="orbital")

    # then
    assert titles(found.deals) == ["Orbital fleet renewal"]


def test_a_rep_finds_accounts_and_contacts_only_through_accounts_they_may_read(rep, outsider_team_rep):
    mine = AccountFactory(owner=rep, name="Quokka Freight", domain="quokka.test")
    ContactFactory(account=mine, first_name="Ines", last_name="Quokkason", email="ines@quokka.test")
    theirs = AccountFactory(owner=outsider_team_rep, name="Quokka Airlines")
    ContactFactory(account=theirs, first_name="Olaf", last_name="Quokkaberg")

    found = search_everything(user=rep, query="quokka")

    assert titles(found.accounts) == ["Quokka Freight"]
    assert titles(found.contacts) == ["Ines Quokkason"]


def test_a_delivery_lead_finds_the_account_and_hand_off_they_were_handed(delivery_lead, rep):
    # given: a hand-off of a Zephyr deal accepted by the lead, and an account they never met
    handoff = HandoffFactory(
        deal__owner=rep,
        deal__title="Warehouse roll-out",
        deal__account__name="Zephyr Mills",
        status=HandoffStatus.ACCEPTED,
        delivery_owner=delivery_lead,
    )
    AccountFactory(owner=rep, name="Zephyr Textiles")

    # when
    found = search_everything(user=delivery_lead, query="zephyr")

    # then: the hand-off's account, and the hand-off by its account's name
    assert titles(found.accounts) == ["Zephyr Mills"]
    assert found.handoffs == [handoff]
    # and by its deal's title too
    assert search_everything(user=delivery_lead, query="warehouse").handoffs == [handoff]


def test_an_admin_finds_every_teams_records(admin_user, rep, outsider_team_rep):
    DealFactory(owner=rep, title="Kestrel upgrade", account__name="Kestrel Labs")
    DealFactory(owner=outsider_team_rep, title="Kestrel expansion", account__name="Kestrel Foods")

    found = search_everything(user=admin_user, query="kestrel")

    assert sorted(titles(found.deals)) == ["Kestrel expansion", "Kestrel upgrade"]
    assert sorted(titles(found.accounts)) == ["Kestrel Foods", "Kestrel Labs"]


def test_an_erased_contact_is_not_found_by_their_old_name_and_shows_as_erased(admin_user, rep):
    account = AccountFactory(owner=rep, name="Acme")
    contact = ContactFactory(account=account, first_name="Wilhelmina", last_name="Vossberg", email="wv@acme.test")
    contact_anonymise(actor=admin_user, contact=contact)

    assert search_everything(user=admin_user, query="wilhelmina").is_empty
    assert search_everything(user=admin_user, query="wv@acme").is_empty
    assert titles(search_everything(user=admin_user, query="erased contact").contacts) == [
        f"Erased contact #{contact.pk}"
    ]


# --- how it matches and ranks --------------------------------------------------------


def test_every_word_must_match_one_of_the_fields(rep):
    account = AccountFactory(owner=rep, name="Northwind")
    ContactFactory(account=account, first_name="Hana", last_name="Ito", email="hana@northwind.test")
    ContactFactory(account=account, first_name="Hana", last_name="Berg", email="hb@northwind.test")
    DealFactory(owner=rep, account=account, title="Fleet tracking roll-out")

    assert titles(search_everything(user=rep, query="  hana   ITO ").contacts) == ["Hana Ito"]
    assert titles(search_everything(user=rep, query="fleet roll").deals) == ["Fleet tracking roll-out"]


def test_exact_matches_come_first_then_prefixes_then_the_rest(rep):
    # given: the contains-match is the newest, so recency alone would put it first
    with time_machine.travel(NOW - datetime.timedelta(days=3), tick=False):
        DealFactory(owner=rep, title="Atlas")
    with time_machine.travel(NOW - datetime.timedelta(days=2), tick=False):
        DealFactory(owner=rep, title="Atlas migration")
    with time_machine.travel(NOW - datetime.timedelta(days=1), tick=False):
        DealFactory(owner=rep, title="Project atlas phase 2")
    DealFactory(owner=rep, title="Renewal for the atlas team")

    found = search_everything(user=rep, query="atlas")

    # then: exact, prefix, then the two contains-matches newest first
    assert titles(found.deals) == ["Atlas", "Atlas migration", "Renewal for the atlas team", "Project atlas phase 2"]


def test_an_old_prefix_match_still_comes_before_many_newer_ones_that_only_contain_it(rep):
    # given: one old deal and one old hand-off starting with the word, and more newer
    # deals and hand-offs merely containing it than the dropdown shows
    with time_machine.travel(NOW - datetime.timedelta(days=30), tick=False):
        DealFactory(owner=rep, title="Osprey expansion")
        old_handoff = HandoffFactory(
            deal__owner=rep, deal__title="Osprey renewal", closed_on=NOW.date() - datetime.timedelta(days=30)
        )
    for number in range(7):
        DealFactory(owner=rep, title=f"Fleet for osprey {number}")
        HandoffFactory(
            deal__owner=rep,
            deal__title=f"Won the osprey {number}",
            closed_on=NOW.date() - datetime.timedelta(days=number),
        )

    found = search_everything(user=rep, query="osprey", limit_per_kind=5)

    # then: the prefix matches first (the hand-off's deal is one), then the newest of
    # the rest, and no row twice
    assert set(titles(found.deals)[:2]) == {"Osprey expansion", "Osprey renewal"}
    assert len(set(titles(found.deals))) == 5
    assert found.handoffs[0] == old_handoff
    assert [handoff.deal.title for handoff in found.handoffs[1:]] == [f"Won the osprey {n}" for n in range(4)]


def test_hand_offs_rank_by_their_deals_title_or_accounts_name_exact_then_prefix_then_the_newest(rep):
    # given: hand-offs whose deal title or account name is "Ibis", starts with it, or only
    # contains it — the older the more relevant, so recency alone would reverse them
    def handoff(days_ago: int, **names):
        return HandoffFactory(deal__owner=rep, closed_on=NOW.date() - datetime.timedelta(days=days_ago), **names)

    exact_account = handoff(40, deal__title="Renewal", deal__account__name="IBIS")
    exact_title = handoff(39, deal__title="ibis", deal__account__name="Crane Foods")
    prefix_account = handoff(30, deal__title="Pilot", deal__account__name="Ibis Marine")
    prefix_title = handoff(20, deal__title="Ibis roll-out", deal__account__name="Stork Labs")
    contains_older = handoff(2, deal__title="Pilot for the ibis team", deal__account__name="Heron")
    contains_newer = handoff(1, deal__title="Expansion", deal__account__name="Big Ibis Holdings")
    handoff(0, deal__title="Ibex roll-out", deal__account__name="Ibex")  # no match

    found = search_everything(user=rep, query="ibis", limit_per_kind=10).handoffs

    # then: exact (newest first), prefix (newest first), then the rest newest first
    assert found == [exact_title, exact_account, prefix_title, prefix_account, contains_newer, contains_older]
    # and cut at the limit, the same order
    assert search_everything(user=rep, query="ibis", limit_per_kind=3).handoffs == found[:3]


def test_the_hand_offs_relevance_by_deal_id_is_the_relevance_of_the_deals_title_and_accounts_name(rep):
    # given: hand-offs named in every way a query can meet them
    names = ["Kite", "Kite Air", "Air Kite", "kite", "Kites", "Kiteboard Co", "Box Kite"]
    for title, account in zip(names, reversed(names), strict=True):
        HandoffFactory(deal__owner=rep, deal__title=title, deal__account__name=account, closed_on=NOW.date())
    handoffs = handoffs_visible_to(rep)

    # then: for each query, the relevance asked of the deal ids (no join) is the one
    # computed over the joined title and name
    for query in ["kite", "Kite Air", "air", "kites", "box kite", "nothing"]:
        by_id = handoffs.annotate(relevance=search_module._handoff_relevance(query)).order_by("pk")
        by_join = handoffs.annotate(
            relevance=search_module._relevance(query, "deal__title", "deal__account__name")
        ).order_by("pk")
        assert [h.relevance for h in by_id] == [h.relevance for h in by_join], query


def test_the_hand_offs_of_matching_deals_are_the_visible_hand_offs_that_match(
    rep, manager, delivery_manager, delivery_lead, admin_user, outsider_team_rep
):
    # given: Kestrel hand-offs of the rep's team, of another team (one handed to the
    # delivery team's lead), and one that does not match
    mine = HandoffFactory(deal__owner=rep, deal__title="Kestrel roll-out")
    HandoffFactory(deal__owner=outsider_team_rep, deal__title="Kestrel pilot")
    HandoffFactory(
        deal__owner=outsider_team_rep,
        deal__title="Kestrel support",
        status=HandoffStatus.ACCEPTED,
        delivery_owner=delivery_lead,
    )
    HandoffFactory(deal__owner=rep, deal__title="Condor roll-out")
    of_deals = Q(title__icontains="kestrel")

    # then: for every role, handoffs_visible_to's faster form is the rule, filtered
    for user in (rep, manager, delivery_manager, delivery_lead, admin_user, outsider_team_rep):
        fast = set(handoffs_visible_to(user, of_deals=of_deals))
        assert fast == set(handoffs_visible_to(user).filter(deal__title__icontains="kestrel")), user.username
    assert set(handoffs_visible_to(rep, of_deals=of_deals)) == {mine}
    assert len(handoffs_visible_to(delivery_manager, of_deals=of_deals)) == 1
    assert len(handoffs_visible_to(admin_user, of_deals=of_deals)) == 3


def test_accounts_rank_a_domain_prefix_above_a_name_that_only_contains_it(rep):
    AccountFactory(owner=rep, name="Big Tern Holdings", domain="bigtern.test")
    AccountFactory(owner=rep, name="Ternary Systems", domain="ternary.test")

    assert titles(search_everything(user=rep, query="tern").accounts) == ["Ternary Systems", "Big Tern Holdings"]


def test_each_kind_is_cut_at_its_limit(rep):
    for number in range(8):
        DealFactory(owner=rep, title=f"Pelican deal {number}")

    assert len(search_everything(user=rep, query="pelican").deals) == 5
    assert len(search_everything(user=rep, query="pelican", limit_per_kind=3).deals) == 3


def test_a_two_letter_word_matches_the_start_of_a_field_or_of_a_word_in_it(rep):
    account = AccountFactory(owner=rep, name="Globex Retail")
    ContactFactory(account=account, first_name="Ana", last_name="Glass", email="ana@acme.test")
    DealFactory(owner=rep, account=account, title="Data for Globex")
    DealFactory(owner=rep, account=account, title="English course")

    found = search_everything(user=rep, query="gl")

    assert titles(found.accounts) == ["Globex Retail"]
    assert titles(found.contacts) == ["Ana Glass"]
    assert titles(found.deals) == ["Data for Globex"]  # not the "gl" inside "English"
    # and a one-letter word of a longer query too: "ana g" is Ana Glass, not Ana Berg
    ContactFactory(account=account, first_name="Ana", last_name="Berg", email="ab@acme.test")
    assert titles(search_everything(user=rep, query="ana g").contacts) == ["Ana Glass"]


def test_wildcards_typed_by_the_user_are_plain_characters(rep):
    DealFactory(owner=rep, title="Discount 50% off")
    DealFactory(owner=rep, title="Discount 500 seats")

    assert titles(search_everything(user=rep, query="50%").deals) == ["Discount 50% off"]
    assert search_everything(user=rep, query="__").is_empty


def test_a_query_shorter_than_two_characters_finds_nothing_and_reads_nothing(rep, django_assert_num_queries):
    DealFactory(owner=rep, title="A")

    with django_assert_num_queries(0):
        found = search_everything(user=rep, query=" a ")

    assert found.too_short
    assert found.is_empty


# --- what it costs -------------------------------------------------------------------


def _matching_records(owner, count: int) -> None:
    """`count` deals, accounts, contacts and hand-offs that all match "heron"."""
    for number in range(count):
        account = AccountFactory(owner=owner, name=f"Heron {number}")
        ContactFactory(account=account, first_name="Heron", last_name=f"Contact {number}")
        DealFactory(owner=owner, account=account, title=f"Heron deal {number}")
        HandoffFactory(deal__owner=owner, deal__account=account, deal__title=f"Heron won {number}")


def _queries_of_search(user) -> int:
    with CaptureQueriesContext(connection) as captured:
        found = search_everything(user=user, query="heron")
    assert not found.is_empty
    return len(captured)


def test_a_reps_search_is_one_query_per_kind_at_any_size(rep):
    _matching_records(rep, 2)
    small = _queries_of_search(rep)
    _matching_records(rep, 20)

    # Four searches, and one read of the accounts the rep's deals open (shared by the
    # accounts and contacts searches).
    assert small == 5
    assert _queries_of_search(rep) == small


def test_the_page_shows_each_hand_offs_delivery_owner_without_a_query_per_row(client_for, rep, delivery_lead):
    # given: hand-offs with a delivery owner, as the page shows them
    def handoffs(count: int) -> None:
        for number in range(count):
            HandoffFactory(deal__owner=rep, deal__title=f"Plover won {number}", delivery_owner=delivery_lead)

    client = client_for(rep)
    handoffs(2)
    url = reverse("handoffs:search") + "?q=plover"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    handoffs(10)

    # when
    with CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()

    # then: every row with its owner, from the same queries (the rows keep only the
    # columns the page shows, and none is read again)
    assert body.count(str(delivery_lead)) >= 12
    assert len(large) == len(small)


@pytest.mark.parametrize("partial", ["1", ""], ids=["dropdown", "page"])
def test_the_dropdown_and_the_page_run_the_same_queries_at_any_size(client_for, rep, partial):
    # given: a signed-in rep, and a warm first request (session, user)
    client = client_for(rep)
    _matching_records(rep, 2)
    url = reverse("handoffs:search") + f"?q=heron&partial={partial}"
    client.get(url)

    # when: the same search over 2 then 22 matching records of each kind
    with CaptureQueriesContext(connection) as small:
        before = client.get(url)
    _matching_records(rep, 20)
    with CaptureQueriesContext(connection) as large:
        after = client.get(url)

    # then: the rows grew, the queries did not (the session, the user, the search)
    assert after.status_code == 200
    assert after.context["results"].count > before.context["results"].count
    assert len(large) == len(small)
    assert len(small) <= 8


def test_a_managers_search_runs_the_same_number_of_queries_at_any_size(manager, rep):
    _matching_records(rep, 2)
    small = _queries_of_search(manager)
    _matching_records(rep, 20)

    # Four searches, each visibility rule reading the manager's teams once.
    assert small <= 8
    assert _queries_of_search(manager) == small


def test_postgresql_answers_each_searched_column_from_its_trigram_index(rep):
    # given: a row to find
    ContactFactory(account__owner=rep, email="grace@hopper.test")
    lookups = {
        "deal_title_trgm_idx": Deal.objects.filter(title__icontains="hopper"),
        "account_name_trgm_idx": Account.objects.filter(name__icontains="hopper"),
        "account_domain_trgm_idx": Account.objects.filter(domain__icontains="hopper"),
        "contact_first_name_trgm_idx": Contact.objects.filter(first_name__icontains="hopper"),
        "contact_last_name_trgm_idx": Contact.objects.filter(last_name__icontains="hopper"),
        "contact_email_trgm_idx": Contact.objects.filter(email__icontains="hopper"),
    }
    # a two-letter word (the start of a field or of a word): pg_trgm's word-start trigrams
    short_word = Deal.objects.filter(_word_in("title", "ho"))
    if connection.vendor != "postgresql":
        # SQLite (make run) has no trigram index: the same lookup is a scan there.
        assert lookups["contact_email_trgm_idx"].count() == 1
        return

    # when: the planner is told to avoid a scan, as it does by itself at 100k rows (on a
    # few test rows a scan is cheaper) — a sequential one, and a walk through a whole other
    # index with the match as a filter (which it otherwise picks on some runs): what is
    # left is a bitmap scan, which needs an index that can answer the match itself
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
    plans = {index: queryset.explain() for index, queryset in lookups.items()}
    short_word_plan = short_word.explain()

    # then: each searched column is read through its trigram index
    for index, plan in plans.items():
        assert index in plan, plan
    # and both arms of a short word through an index: the start of a word by its
    # trigrams, the start of the title by the btree prefix index (migration 0900) or the
    # trigrams, whichever the planner prefers; never a scan
    assert "deal_title_trgm_idx" in short_word_plan, short_word_plan
    assert short_word_plan.count("Bitmap Index Scan") == 2, short_word_plan
    assert "Seq Scan" not in short_word_plan, short_word_plan


def test_postgresql_finds_the_deals_named_by_the_query_through_the_prefix_indexes(rep):
    # given: the sets a hand-off's relevance asks of its deal id (handoffs.search._deals_named)
    deal = DealFactory(owner=rep, title="Hopper renewal", account__name="Hopper Labs")
    lookups = {
        "deal_title_upper_prefix_idx": Deal.objects.filter(title__istartswith="hopp"),
        "account_name_upper_prefix_idx": Account.objects.filter(name__istartswith="hopp"),
    }
    assert list(lookups["deal_title_upper_prefix_idx"]) == [deal]
    assert list(lookups["account_name_upper_prefix_idx"]) == [deal.account]
    if connection.vendor != "postgresql":
        # SQLite (make run) has no operator classes: the same lookups scan there.
        return

    # when: the planner may not scan (as it would not at 100k rows)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plans = {index: queryset.explain() for index, queryset in lookups.items()}
    exact_plan = Deal.objects.filter(title__iexact="hopper renewal").explain()

    # then: a prefix, and an exact title, are a range of the btree on UPPER(col)
    for index, plan in plans.items():
        assert index in plan, plan
    assert "deal_title_upper_prefix_idx" in exact_plan, exact_plan


# --- the page and the dropdown -------------------------------------------------------


def test_the_page_lists_each_kind_with_links_to_the_objects(client_for, rep, outsider_team_rep):
    deal = DealFactory(owner=rep, title="Osprey rollout", account__name="Osprey Marine")
    DealFactory(owner=outsider_team_rep, title="Osprey secret deal")

    response = client_for(rep).get(reverse("handoffs:search"), {"q": "osprey"})

    assert response.status_code == 200
    assert "handoffs/search/page.html" in [template.name for template in response.templates]
    body = response.content.decode()
    assert reverse("handoffs:deal_detail", args=[deal.pk]) in body
    assert reverse("handoffs:account_detail", args=[deal.account_id]) in body
    assert "Osprey secret deal" not in body


def test_the_dropdown_is_the_bare_results_list(client_for, rep):
    DealFactory(owner=rep, title="Osprey rollout")

    response = client_for(rep).get(reverse("handoffs:search"), {"q": "osprey", "partial": "1"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [template.name for template in response.templates] == ["handoffs/search/_results.html"]
    body = response.content.decode()
    assert 'role="listbox"' in body
    assert "Osprey rollout" in body
    assert "<html" not in body


def test_a_short_query_shows_a_hint(client_for, rep):
    response = client_for(rep).get(reverse("handoffs:search"), {"q": "x"})

    assert response.status_code == 200
    assert "Type at least 2 characters" in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("handoffs:search"), {"q": "osprey"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_every_page_has_the_search_box_for_a_signed_in_user(client_for, rep):
    body = client_for(rep).get(reverse("handoffs:account_list")).content.decode()

    assert 'role="search"' in body
    assert f'action="{reverse("handoffs:search")}"' in body
    assert 'hx-trigger="input changed delay:200ms, search"' in body


def test_the_page_says_when_a_kind_was_cut_at_its_limit(client_for, rep):
    for number in range(26):
        DealFactory(owner=rep, title=f"Gannet deal {number}")

    body = client_for(rep).get(reverse("handoffs:search"), {"q": "gannet"}).content.decode()

    assert body.count("Gannet deal") == 25
    assert "At most 25 of each kind" in body
