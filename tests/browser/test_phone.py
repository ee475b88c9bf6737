"""The phone (issue 16): on a 390×844 touch screen the pages do not scroll sideways, the
navigation is collapsed behind its toggler, touch targets are finger-sized, and a rep and
a delivery lead do their daily work by tapping."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.choices import Role
from accounts.navigation import navigation_for
from followups.choices import CheckInStatus
from handoffs.choices import HandoffStatus, Stage
from handoffs.models import Handoff
from handoffs.services.handoffs import handoff_propose_owner
from tests.conftest import sign_in
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    PromiseFactory,
)
from tests.followups.test_checkin_services import accepted_handoff
from tests.handoffs.handoff_builders import won_handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# The smallest height of a touch target: 44 CSS px, Apple's and WCAG 2.5.5's figure.
TOUCH_TARGET_PX = 44

# A long unbroken word, as customers' names, e-mail addresses and pasted links are:
# it must wrap, not push the page wider than the screen.
LONG_WORD = "Kommunikationsinfrastrukturmodernisierungsprogramm"


@pytest.fixture
def phone(browser_instance, live_server):
    """A page in a phone-sized, touch, high-density browser context."""
    context = browser_instance.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    phone_page = context.new_page()
    yield phone_page
    context.close()


def _open_nav(page):
    """Tap the navbar toggler and wait until the collapsed menu has opened."""
    page.locator(".navbar-toggler").tap()
    page.locator("#mainnav.show").wait_for()
    page.wait_for_function("() => !document.querySelector('#mainnav.collapsing')")


# Whether the page is wider than the screen, and if so which elements stick out. An
# element inside a box that scrolls sideways by itself (the pipeline board, a wide
# table's .table-responsive) may be wider: the page itself must not be.
#
# The screen's width is passed in: a mobile browser widens its layout viewport (and so
# innerWidth and clientWidth) to fit a page that is too wide, and zooms out.
SIDEWAYS_OVERFLOW = """(screen) => {
  const root = document.documentElement;
  if (root.scrollWidth <= screen + 1 && window.innerWidth <= screen + 1) return null;
  const clips = (el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
  const insideAScroller = (el) => {
    // an absolutely positioned element escapes the scrollers between it and its
    // containing block (a .visually-hidden label in a wide table's header does)
    const position = getComputedStyle(el).position;
    const first = position === 'fixed' ? null : position === 'absolute' ? el.offsetParent : el.parentElement;
    for (let box = first; box && box !== document.body; box = box.parentElement) {
      if (clips(box)) return true;
    }
    return false;
  };
  // the innermost elements that stick out (a scroller that sticks out counts as one)
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.right <= screen + 1 || insideAScroller(el)) continue;
    if (!clips(el) && [...el.children].some((child) => child.getBoundingClientRect().right > screen + 1)) continue;
    const name = el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    culprits.push(`${name} (right ${Math.round(rect.right)}px: ${(el.innerText || '').slice(0, 40)})`);
    if (culprits.length >= 5) break;
  }
  return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, culprits};
}"""


def _sideways_overflow(page):
    return page.evaluate(SIDEWAYS_OVERFLOW, PHONE["width"])


def _nav_hrefs(page) -> list[str]:
    """The pages the collapsed navigation leads to (not the menus' toggles)."""
    return page.eval_on_selector_all(
        "#mainnav a.nav-link[href]:not([href='#']), #mainnav a.dropdown-item[href]",
        "links => links.map((link) => link.getAttribute('href'))",
    )


@pytest.fixture
def phone_world(rep, manager, delivery_lead, admin_user):
    """What the four roles' pages show: an open deal with long words, contacts and a
    promise; a won deal proposed to the delivery lead; an accepted hand-off with a
    check-in due."""
    account = AccountFactory(owner=rep, name=f"Northwind {LONG_WORD}", domain="northwind-logistics-international.test")
    ContactFactory(
        account=account, first_name="Hana", last_name="Ito", email=f"hana.{LONG_WORD.lower()}@northwind.test"
    )
    deal = DealFactory(
        owner=rep,
        account=account,
        title=f"Fleet tracking {LONG_WORD}",
        stage=Stage.PROPOSE,
        next_step=f"Send the {LONG_WORD} proposal",
        next_step_due=timezone.localdate(timezone=rep.tzinfo) - datetime.timedelta(days=1),
    )
    DealContactFactory(deal=deal)
    PromiseFactory(deal=deal, description=f"Live in 3 depots by 1 June ({LONG_WORD})")
    proposed = won_handoff(rep=rep, title=f"Won roll-out {LONG_WORD}")
    handoff_propose_owner(actor=manager, handoff=proposed, owner=delivery_lead)
    accepted = accepted_handoff(rep=rep, delivery_owner=delivery_lead, closed_on=timezone.localdate())
    checkin = CheckInFactory(
        handoff=accepted, due_on=timezone.localdate(timezone=rep.tzinfo) - datetime.timedelta(days=1)
    )
    return {"deal": deal, "account": account, "proposed": proposed, "accepted": accepted, "checkin": checkin}


def _pages_of(page, user, world, *, with_rep_forms: bool) -> list[str]:
    """The pages of the user's navigation (its role's entries and the links the bar
    shows: bell, user menu), plus a deal, an account, a hand-off and its brief (and, for
    a rep, the forms they fill in: a check-in, a deal, a close, a next step)."""
    page.goto("/")
    page.wait_for_load_state("networkidle")
    paths = [item["url"] for item in navigation_for(user.role, is_superuser=user.is_superuser)]
    paths += _nav_hrefs(page)
    handoff = world["proposed"]
    # the delivery lead reaches the deal of the hand-off proposed to them, not the rep's open one
    deal = handoff.deal if user.role == Role.DELIVERY else world["deal"]
    paths += [
        f"/deals/{deal.pk}/",
        f"/accounts/{deal.account_id}/",
        f"/handoffs/{handoff.pk}/",
        f"/handoffs/{handoff.pk}/brief/",
    ]
    if with_rep_forms:
        # and the forms a rep fills in on the road
        paths += [
            f"/checkins/{world['checkin'].pk}/log/",
            "/deals/new/",
            f"/deals/{deal.pk}/edit/",
            f"/deals/{deal.pk}/close/",
            f"/deals/{deal.pk}/next-step/",
        ]
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("role", ["rep", "manager", "delivery_lead", "admin_user"])
def test_no_page_a_role_reaches_scrolls_sideways_on_a_phone(phone, phone_world, role, request):
    # given: a user of the role, on a phone
    user = request.getfixturevalue(role)
    sign_in(phone, user, tap=True)
    paths = _pages_of(phone, user, phone_world, with_rep_forms=role == "rep")
    assert len(paths) >= 6, paths

    # when: they open each page
    failures = {}
    for path in paths:
        response = phone.goto(path)
        assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
        phone.wait_for_load_state("networkidle")
        overflow = _sideways_overflow(phone)
        if overflow is not None:
            failures[path] = overflow

    # then: none is wider than the screen
    assert failures == {}, f"pages that scroll sideways for {role}: {failures}"


def test_the_navigation_is_collapsed_behind_its_toggler_and_opens_on_a_tap(phone, phone_world, rep):
    # given: a rep on a phone
    sign_in(phone, rep, tap=True)
    toggler = phone.locator(".navbar-toggler")
    pipeline = phone.locator("#mainnav").get_by_role("link", name="Pipeline")

    # then: the toggler shows, the nav links and the search box hide behind it
    expect(toggler).to_be_visible()
    assert toggler.bounding_box()["height"] >= TOUCH_TARGET_PX
    expect(pipeline).to_be_hidden()
    expect(phone.get_by_test_id("global-search")).to_be_hidden()
    # when: they tap the toggler
    _open_nav(phone)

    # then: the links, the search box and the user menu show and fit the screen
    expect(pipeline).to_be_visible()
    assert toggler.get_attribute("aria-expanded") == "true"
    search = phone.get_by_test_id("global-search")
    expect(search).to_be_visible()
    box = search.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert _sideways_overflow(phone) is None

    # and the search box finds the deal from the phone
    search.tap()
    search.fill("Fleet tracking")
    dropdown = phone.get_by_test_id("search-dropdown")
    dropdown.get_by_text("Fleet tracking").first.wait_for()
    assert _sideways_overflow(phone) is None

    # and the user menu opens on a tap and offers to log out
    phone.get_by_test_id("user-menu").tap()
    log_out = phone.get_by_role("button", name="Log out")
    log_out.wait_for()
    assert log_out.bounding_box()["height"] >= TOUCH_TARGET_PX

    # and a tap on a link goes there
    pipeline.tap()
    phone.wait_for_url("**/pipeline/")
    expect(phone.locator("#mainnav").get_by_role("link", name="Deals")).to_be_hidden()


# Every visible button, link styled as a button, form control and nav link that is
# shorter than a finger.
SMALL_TARGETS = """(minimum) => {
  const targets = document.querySelectorAll(
    'main .btn, main a.btn, main .form-control, main .form-select, main button, '
    + 'main .form-check-input, nav .nav-link, nav .navbar-toggler, main .list-group-item-action, '
    + 'main .dropdown-item, main .page-link, main .next-step-edit');
  const small = [];
  let checked = 0;
  for (const el of targets) {
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.closest('.visually-hidden, .visually-hidden-focusable')) continue;
    checked += 1;
    let height = rect.height;
    let width = rect.width;
    if (el.matches('.form-check-input')) {
      // a check box or radio is tapped through its label as well: the row is the target
      const row = el.closest('.form-check') || el;
      height = row.getBoundingClientRect().height;
      width = Math.max(width, row.getBoundingClientRect().width);
    }
    if (height < minimum) {
      small.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${(el.innerText || el.name || '').trim().slice(0, 30)}" ${Math.round(height)}px`);
    }
  }
  return {checked, small};
}"""


def _small_targets(page) -> list[str]:
    targets = page.evaluate(SMALL_TARGETS, TOUCH_TARGET_PX)
    assert targets["checked"] >= 3, f"{page.url} shows almost no target: is it the page it should be?"
    return targets["small"]


def test_targets_on_my_day_a_deal_and_a_hand_off_are_touch_sized(phone, phone_world, rep, delivery_lead):
    # given: a rep on My day, with the navigation open
    sign_in(phone, rep, tap=True)
    phone.goto("/my-day/")
    _open_nav(phone)

    # then: every button, control, nav link and menu item there is at least a finger tall
    assert _small_targets(phone) == []

    # and on the check-in form (its radio buttons and check boxes: their rows)
    phone.goto(f"/checkins/{phone_world['checkin'].pk}/log/")
    assert _small_targets(phone) == []

    # and on the deal page (with its next step's form open)
    deal = phone_world["deal"]
    phone.goto(f"/deals/{deal.pk}/")
    assert _small_targets(phone) == []
    phone.get_by_test_id(f"next-step-edit-{deal.pk}").tap()
    phone.get_by_test_id(f"next-step-save-{deal.pk}").wait_for()
    assert _small_targets(phone) == []

    # and on the hand-off page and its brief, for the delivery lead it waits for
    sign_in(phone, delivery_lead, tap=True)
    for path in (f"/handoffs/{phone_world['proposed'].pk}/", f"/handoffs/{phone_world['proposed'].pk}/brief/"):
        phone.goto(path)
        assert _small_targets(phone) == [], path


def test_a_rep_logs_a_checkin_opens_a_deal_and_moves_its_next_step_by_tapping(phone, phone_world, rep):
    checkin = phone_world["checkin"]
    deal = phone_world["deal"]

    # given: a rep on a phone
    sign_in(phone, rep, tap=True)

    # when: they open Check-ins from the collapsed navigation and log the overdue one
    _open_nav(phone)
    phone.locator("#mainnav").get_by_role("link", name="Check-ins").tap()
    overdue = phone.get_by_test_id("checkins-overdue").get_by_test_id(f"checkin-{checkin.pk}")
    overdue.get_by_role("link", name="Log").tap()
    phone.get_by_label("Call", exact=True).tap()
    phone.get_by_label("Happy").tap()
    phone.get_by_label("Notes").fill("All good, the depots are live.")
    assert _sideways_overflow(phone) is None
    phone.get_by_role("button", name="Log check-in").tap()

    # then: the check-in is logged
    phone.get_by_text(f"Check-in with {checkin.account} logged.").wait_for()
    checkin.refresh_from_db()
    assert checkin.status == CheckInStatus.DONE
    assert (checkin.channel, checkin.sentiment) == ("call", "happy")

    # when: they open the overdue deal from My day
    _open_nav(phone)
    phone.locator("#mainnav").get_by_role("link", name="My day").tap()
    phone.get_by_test_id("overdue-next-steps").get_by_role("link", name=deal.title).tap()

    # then: the deal page shows it, without sideways scrolling
    phone.get_by_role("heading", name=deal.title).wait_for()
    assert _sideways_overflow(phone) is None

    # when: they move its next step in place (the inline editor)
    next_step = phone.get_by_test_id(f"next-step-{deal.pk}")
    edit = phone.get_by_test_id(f"next-step-edit-{deal.pk}")
    assert edit.bounding_box()["height"] >= TOUCH_TARGET_PX
    edit.tap()
    new_due = timezone.localdate(timezone=rep.tzinfo) + datetime.timedelta(days=5)
    next_step.locator("[name=next_step]").fill("Call Hana about the pilot")
    next_step.locator("[name=next_step_due]").fill(new_due.isoformat())
    assert _sideways_overflow(phone) is None
    save = phone.get_by_test_id(f"next-step-save-{deal.pk}")
    assert save.bounding_box()["height"] >= TOUCH_TARGET_PX
    save.tap()

    # then: the deal has its new next step, shown in place
    phone.get_by_test_id(f"next-step-{deal.pk}").get_by_text("Call Hana about the pilot").wait_for()
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due) == ("Call Hana about the pilot", new_due)
    assert _sideways_overflow(phone) is None


def test_a_delivery_lead_reads_the_brief_and_accepts_a_hand_off_by_tapping(phone, phone_world, delivery_lead):
    handoff = phone_world["proposed"]

    # given: the delivery lead, on a phone, with a hand-off waiting for them
    sign_in(phone, delivery_lead, tap=True)

    # when: they open My hand-offs from the collapsed navigation and read the brief
    _open_nav(phone)
    phone.locator("#mainnav").get_by_role("link", name="My hand-offs").tap()
    waiting = phone.get_by_test_id("waiting-for-me")
    read_the_brief = waiting.get_by_role("link", name="Read the brief")
    # (the list stacks on a phone: the button is on screen, not at the end of a wide row)
    box = read_the_brief.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    read_the_brief.tap()
    brief = phone.get_by_test_id("handoff-brief")
    brief.get_by_text("Promise 1: live by 1 March").wait_for()
    assert _sideways_overflow(phone) is None

    # and accept ownership
    phone.get_by_role("link", name="Accept or decline").tap()
    accept = phone.get_by_role("button", name="Accept ownership")
    assert accept.bounding_box()["height"] >= TOUCH_TARGET_PX
    accept.tap()

    # then: they own the account
    phone.get_by_test_id("delivery-owner").wait_for()
    assert str(delivery_lead) in phone.get_by_test_id("delivery-owner").inner_text()
    assert _sideways_overflow(phone) is None
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.ACCEPTED
