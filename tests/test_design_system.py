"""The design system (issue 16): people as initials avatars, empty states that name the next
action, and one stylesheet and one script of our own on every page (no extra request)."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.templatetags.people_tags import colour_class, initials
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> str:
    return Template("{% load people_tags %}" + source).render(Context(context))


def test_an_avatar_shows_initials_hidden_and_the_full_name_to_screen_readers():
    # given
    person = UserFactory(first_name="Ada", last_name="Lovelace")
    # when
    html = render("{% avatar person %}", person=person)
    # then: the letters are decoration, the name is the accessible text
    assert '<span aria-hidden="true">AL</span>' in html
    assert '<span class="visually-hidden">Ada Lovelace</span>' in html
    assert f'class="avatar {colour_class(person)}"' in html


def test_initials_come_from_the_first_and_last_name_else_the_username():
    assert initials(UserFactory.build(first_name="Jean Paul", last_name="van der Berg")) == "JB"
    assert initials(UserFactory.build(first_name="Cher", last_name="")) == "CH"
    assert initials(UserFactory.build(first_name="", last_name="", username="grace.hopper")) == "GH"
    assert initials(UserFactory.build(first_name="", last_name="", username="q")) == "Q"


def test_a_persons_colour_depends_on_their_id_only():
    # given: two people, and the first loaded again under another name
    first, second = UserFactory(), UserFactory()
    renamed = type(first).objects.get(pk=first.pk)
    renamed.first_name = "Someone else"
    # then: same id, same colour; neighbouring ids, different colours; always one of eight
    assert colour_class(first) == colour_class(renamed) == f"avatar-{first.pk % 8}"
    assert colour_class(first) != colour_class(second)
    assert re.fullmatch(r"avatar-[0-7]", colour_class(second))


def test_an_avatar_escapes_the_name():
    person = UserFactory(first_name="<script>x</script>", last_name="O'Brien & Co")
    html = render("{% avatar person %}{% person person %}", person=person)
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; O&#x27;Brien &amp; Co" in html


def test_person_writes_the_name_beside_a_hidden_circle_and_a_dash_for_nobody():
    person = UserFactory(first_name="Rita", last_name="Novak")
    html = render("{% person person %}|{% person nobody %}", person=person, nobody=None)
    shown, empty = html.split("|")
    assert 'aria-hidden="true" data-testid="avatar">RN</span><span class="person-name">Rita Novak</span>' in shown
    assert "visually-hidden" not in shown  # the name is read once, from the visible text
    assert empty == '<span class="text-body-secondary">—</span>'


def test_the_nav_and_the_deal_list_show_people_with_avatars(client_for, rep):
    # given
    DealFactory(owner=rep, title="Avatar deal")
    # when
    html = client_for(rep).get(reverse("handoffs:deal_list")).content.decode()
    # then: the user menu and the owner column both carry the rep's initials
    letters = initials(rep)
    assert html.count(f'data-testid="avatar">{letters}</span><span class="person-name">{rep}</span>') >= 2


def test_an_empty_deal_list_says_what_to_do_next(client_for, rep):
    # given: a rep with no deal at all
    # when
    html = client_for(rep).get(reverse("handoffs:deal_list")).content.decode()
    # then: an empty state with the icon hidden and the next action as a link
    state = re.search(r'<div class="empty-state[^"]*" data-testid="empty-state">.*?</div>', html, re.DOTALL)
    assert state, "no empty state"
    assert "No deals yet." in state.group(0)
    assert '<span class="empty-state-icon" aria-hidden="true">' in state.group(0)
    assert f'href="{reverse("handoffs:deal_create")}" data-testid="empty-state-action">' in state.group(0)
    assert "Add your first deal</a>" in state.group(0)


def test_a_filtered_empty_deal_list_offers_to_clear_the_filters(client_for, rep):
    DealFactory(owner=rep, title="Something")
    html = client_for(rep).get(reverse("handoffs:deal_list"), {"q": "no such deal"}).content.decode()
    assert "No deal matches." in html
    assert f'href="{reverse("handoffs:deal_list")}" data-testid="empty-state-action">Clear the filters</a>' in html


@pytest.mark.parametrize(
    ("url_name", "action_url_name"),
    [
        ("handoffs:my_day", "handoffs:deal_create"),
        ("handoffs:account_list", "handoffs:account_create"),
        ("handoffs:handoff_list", "handoffs:board"),
        ("followups:my_checkins", "handoffs:handoff_list"),
        ("followups:notifications", "accounts:profile"),
    ],
)
def test_empty_pages_name_their_next_action(client_for, rep, url_name, action_url_name):
    html = client_for(rep).get(reverse(url_name)).content.decode()
    assert 'data-testid="empty-state"' in html
    assert f'href="{reverse(action_url_name)}" data-testid="empty-state-action"' in html


OWN_STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/css/[^"]+"')
OWN_SCRIPT = re.compile(r'<script src="/static/js/[^"]+"')
ANY_STYLESHEET = re.compile(r'<link rel="stylesheet"')


@pytest.mark.parametrize(
    "url_name",
    ["handoffs:my_day", "handoffs:board", "handoffs:deal_list", "handoffs:handoff_list", "handoffs:account_list"],
)
def test_every_page_loads_one_stylesheet_and_one_script_of_ours(client_for, rep, url_name):
    # given: a page with content, so no branch is skipped
    DealFactory(owner=rep)
    # when
    html = client_for(rep).get(reverse(url_name)).content.decode()
    # then: baton.css and baton.js, once each, besides the vendored Bootstrap (and the
    # board's own script on the board)
    assert OWN_STYLESHEET.findall(html) == ['<link rel="stylesheet" href="/static/css/baton.css"']
    own_scripts = OWN_SCRIPT.findall(html)
    assert own_scripts.count('<script src="/static/js/baton.js"') == 1
    page_specific = [src for src in own_scripts if "baton.js" not in src]
    assert page_specific == (['<script src="/static/js/board.js"'] if url_name == "handoffs:board" else [])
    assert len(ANY_STYLESHEET.findall(html)) == 3  # Bootstrap, its icons, baton.css
