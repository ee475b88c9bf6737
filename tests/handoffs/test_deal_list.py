"""The deal list at scale (issue 17): its owner menu read from the users' side, its filters
drawn by hand, its search and its capped count, each still saying what the list shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.common.pagination import CappedPaginator
from accounts.models import User
from handoffs.access import deal_owners_visible_to, deals_visible_to
from handoffs.choices import HandoffStatus, Stage
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    HandoffFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owners_world(sales_team, manager, rep, other_rep, delivery_lead, outsider_team_rep):
    """Deals held every way the visibility rule knows: a rep's own, a teammate's, one of
    the team's by someone who has since left it, one of another team's handed to the
    Sales team's delivery lead (whom the manager sees through), and another team's own."""
    DealFactory(owner=rep)
    DealFactory(owner=other_rep)
    leaver = UserFactory(username="leaver", team=TeamFactory(name="Elsewhere"))
    DealFactory(owner=leaver, team=sales_team)
    delivery_lead.team = sales_team
    delivery_lead.save(update_fields=["team"])
    handed = UserFactory(username="handed_rep", team=TeamFactory(name="Far away"))
    HandoffFactory(deal__owner=handed, proposed_owner=delivery_lead, status=HandoffStatus.OWNER_PROPOSED)
    DealFactory(owner=outsider_team_rep)
    # A user of the team who owns no deal is in no menu.
    UserFactory(username="idle_teammate", team=sales_team)
    return {"leaver": leaver, "handed": handed}


@pytest.mark.parametrize("who", ["rep", "manager", "admin_user", "delivery_lead", "outsider_team_rep"])
def test_the_owner_menu_lists_exactly_the_owners_of_the_deals_the_user_sees(request, owners_world, who):
    # given
    user = request.getfixturevalue(who)
    # when
    owners = set(deal_owners_visible_to(user).values_list("username", flat=True))
    # then: the same people as the owners of the deals the visibility rule lets them read
    expected = set(
        User.objects.filter(pk__in=deals_visible_to(user).values("owner_id")).values_list("username", flat=True)
    )
    assert owners == expected
    assert "idle_teammate" not in owners


def test_the_managers_menu_names_a_leaver_and_an_owner_seen_through_a_hand_off(owners_world, manager, rep):
    owners = set(deal_owners_visible_to(manager).values_list("username", flat=True))
    assert {"rep", "other_rep", "leaver", "handed_rep"} <= owners
    assert "outsider" not in owners
    # a rep does not see through the hand-offs of their team's delivery leads
    assert "handed_rep" not in set(deal_owners_visible_to(rep).values_list("username", flat=True))


def test_a_rep_without_a_team_sees_only_themselves_in_the_owner_menu(db):
    loner = UserFactory(username="loner", team=None, role=Role.REP)
    DealFactory(owner=loner, team=None)
    DealFactory()
    assert list(deal_owners_visible_to(loner)) == [loner]


def test_the_filters_keep_their_values_and_say_what_is_wrong_on_the_field(client_for, manager, rep):
    # given
    DealFactory(owner=rep, title="Kept")
    client = client_for(manager)
    # when
    html = client.get(
        reverse("handoffs:deal_list"), {"q": "Ke", "stage": "nonsense", "owner": rep.pk, "overdue": "on"}
    ).content.decode()
    # then: the wrong value is marked on its field, the others kept as typed or chosen
    assert 'name="q" value="Ke"' in html
    assert 'id="id_stage" aria-invalid="true" aria-describedby="id_stage_error"' in html
    assert 'id="id_stage_error" class="invalid-feedback"' in html
    assert "Select a valid choice. nonsense is not one of the available choices." in html
    assert f'<option value="{rep.pk}" selected>{rep}</option>' in html
    assert 'id="id_overdue" checked' in html
    assert "No deal matches." in html


def test_the_owner_filter_lists_the_people_and_narrows_the_list(client_for, manager, rep, other_rep):
    # given
    DealFactory(owner=rep, title="Reps deal")
    DealFactory(owner=other_rep, title="Other reps deal")
    client = client_for(manager)
    # when
    everyone = client.get(reverse("handoffs:deal_list"))
    only_rep = client.get(reverse("handoffs:deal_list"), {"owner": rep.pk})
    # then
    html = everyone.content.decode()
    assert '<option value="" selected>Anyone</option>' in html
    assert f'<option value="{other_rep.pk}">{other_rep}</option>' in html
    assert [deal.title for deal in only_rep.context["page_obj"]] == ["Reps deal"]
    assert "1 deal</p>" in only_rep.content.decode()


def test_the_search_finds_by_title_account_and_contact_among_the_visible_deals_only(client_for, rep, outsider_team_rep):
    # given
    DealFactory(owner=rep, title="Globex renewal")
    DealFactory(owner=rep, title="Plain", account=AccountFactory(owner=rep, name="Globex Ltd"))
    by_contact = DealFactory(owner=rep, title="Via contact")
    DealContactFactory(
        deal=by_contact, contact=ContactFactory(account=by_contact.account, first_name="Gina", last_name="Globex")
    )
    DealFactory(owner=rep, title="Unrelated")
    DealFactory(owner=outsider_team_rep, title="Globex elsewhere")
    # when
    response = client_for(rep).get(reverse("handoffs:deal_list"), {"q": "globex"})
    # then
    assert sorted(deal.title for deal in response.context["page_obj"]) == ["Globex renewal", "Plain", "Via contact"]


def test_each_row_links_to_its_deal_and_account(client_for, rep):
    deal = DealFactory(owner=rep)
    html = client_for(rep).get(reverse("handoffs:deal_list")).content.decode()
    assert f'<a href="{reverse("handoffs:deal_detail", args=[deal.pk])}">{deal.title}</a>' in html
    assert f'href="{reverse("handoffs:account_detail", args=[deal.account_id])}"' in html


def test_the_count_is_capped_beyond_the_cap(client_for, rep, monkeypatch):
    # given: a cap of 3 stands for 2,000 (accounts.common.pagination)
    monkeypatch.setattr(CappedPaginator.__init__, "__kwdefaults__", {"cap": 3})
    for _ in range(5):
        DealFactory(owner=rep)
    # when
    html = client_for(rep).get(reverse("handoffs:deal_list")).content.decode()
    # then
    assert "3+ deals</p>" in html


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_a_managers_deal_list_runs_the_same_queries_for_2_or_12_owners(client_for, manager, sales_team):
    # given
    client = client_for(manager)
    url = reverse("handoffs:deal_list") + "?stage=open&q=deal"
    for _ in range(2):
        DealFactory(owner=UserFactory(team=sales_team), stage=Stage.PROPOSE)
    small = queries_of(client, url)
    # when
    for _ in range(10):
        DealFactory(owner=UserFactory(team=sales_team), stage=Stage.PROPOSE)
    large = queries_of(client, url)
    # then
    assert small == large
