"""The pipeline board in Chromium (issue 16): a rep drags a deal to Won and lands on the
close form; the board fits a 1400×900 screen with all six columns, each scrolling under
its own header; a card moves with its compact menu, with JavaScript and without."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.choices import Currency, HandoffStatus, Stage
from handoffs.models import Deal, Handoff
from tests.conftest import sign_in
from tests.factories import AccountFactory, DealFactory, give_full_packet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_until_htmx_is_idle(page) -> None:
    """Wait until the page (or the board just swapped in) is processed and no htmx request
    or swap is under way: a drag or a click before that would be lost."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => window.htmx && window.Sortable && document.readyState === 'complete'"
        " && document.querySelector('.kanban-list[data-sortable]') !== null"
        " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def drag(page, source, target) -> None:
    """Drag `source` onto `target` with the mouse, in small steps, as a hand does:
    SortableJS needs to see the pointer travel before it picks the card up."""
    start = source.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 22, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=20)
    page.mouse.up()


def test_a_rep_drags_a_deal_to_won_logs_the_close_and_its_hand_off_starts(page, login_as, rep):
    # given: a deal in negotiation, its packet complete, on the rep's board
    deal = give_full_packet(DealFactory(owner=rep, title="Fleet tracking roll-out", stage=Stage.NEGOTIATE))
    login_as(rep)
    page.goto("/pipeline/")
    wait_until_htmx_is_idle(page)
    card = page.get_by_test_id(f"card-{deal.pk}")
    won_column = page.get_by_test_id("column-won")
    expect(won_column.get_by_test_id("column-count-won")).to_have_text("0 deals")

    # when: they drag its card onto the Won column
    drag(page, card, won_column.locator(".kanban-list"))

    # then: the close form opens with "won" chosen, the deal still open
    page.wait_for_url(f"**/deals/{deal.pk}/close/?outcome=won")
    expect(page.get_by_label("Won")).to_be_checked()
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATE

    # when: they give the reason and log the close
    page.locator("#id_reason").fill("Best fit for their fleet; strong champion.")
    page.get_by_role("button", name="Log the close").click()

    # then: the deal is won, its hand-off started, and the deal page says so
    page.get_by_test_id("handoff-link").wait_for()
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert Handoff.objects.get(deal=deal).status == HandoffStatus.AWAITING_OWNER
    expect(page.get_by_test_id("deal-stage")).to_have_text("Won")

    # and back on the board the card sits in Won, no longer draggable, and counted there
    page.goto("/pipeline/")
    won_card = page.get_by_test_id("column-won").get_by_test_id(f"card-{deal.pk}")
    expect(won_card).to_have_attribute("data-movable", "0")
    expect(page.get_by_test_id("column-count-won")).to_have_text("1 deal")


def test_a_drag_between_open_columns_moves_the_deal_in_place(page, login_as, rep):
    # given
    deal = DealFactory(owner=rep, title="Warehouse sensors", stage=Stage.DISCOVER)
    login_as(rep)
    page.goto("/pipeline/")
    wait_until_htmx_is_idle(page)

    # when
    with page.expect_response(lambda response: "/stage/" in response.url):
        drag(
            page, page.get_by_test_id(f"card-{deal.pk}"), page.get_by_test_id("column-propose").locator(".kanban-list")
        )

    # then: the board is re-rendered with the card in Propose, and the page did not change
    expect(page.get_by_test_id("column-propose").get_by_test_id(f"card-{deal.pk}")).to_be_visible()
    expect(page.get_by_test_id("column-count-propose")).to_have_text("1 deal")
    assert page.url.endswith("/pipeline/")
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSE


def test_the_board_fits_1400_by_900_with_all_six_columns_and_scrolls_inside_itself(page, login_as, rep):
    # given: a crowded pipeline, long titles, several currencies, recent closes
    account = AccountFactory(owner=rep, name="Kommunikationsinfrastrukturmodernisierungsprogramm GmbH")
    today = timezone.localdate()
    for index in range(24):
        DealFactory(
            owner=rep,
            account=account,
            title=f"Enterprise platform roll-out for the northern region, phase {index}",
            stage=Stage.QUALIFY,
            amount=Decimal("125000.00"),
            currency=[Currency.EUR, Currency.USD][index % 2],
        )
    for stage in (Stage.DISCOVER, Stage.PROPOSE, Stage.NEGOTIATE):
        DealFactory(owner=rep, account=account, stage=stage)
    for stage in (Stage.WON, Stage.LOST):
        closed = DealFactory(owner=rep, account=account)
        Deal.objects.filter(pk=closed.pk).update(stage=stage, closed_on=today - datetime.timedelta(days=1))
    login_as(rep)

    # when: the board opens on a 1400×900 screen (the page fixture's)
    page.goto("/pipeline/")
    wait_until_htmx_is_idle(page)
    screen = page.viewport_size

    # then: all six columns are on screen, Won and Lost whole
    for stage in Stage.values:
        box = page.get_by_test_id(f"column-{stage}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], stage
        assert box["y"] + box["height"] <= screen["height"], stage
    # and the page scrolls neither sideways nor down: the board does, inside itself
    sizes = page.evaluate(
        "() => ({scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,"
        " scrollHeight: document.documentElement.scrollHeight, clientHeight: document.documentElement.clientHeight})"
    )
    assert sizes["scrollWidth"] <= sizes["clientWidth"]
    assert sizes["scrollHeight"] <= sizes["clientHeight"]
    # and each column shows its count and its total per currency
    expect(page.get_by_test_id("column-count-qualify")).to_have_text("24 deals")
    expect(page.get_by_test_id("column-total-qualify")).to_have_text("€1.5M · $1.5M")

    # when: the crowded column is scrolled to its end
    qualify = page.get_by_test_id("column-qualify")
    header_top = qualify.locator(".kanban-column-header").bounding_box()["y"]
    scrolled = qualify.evaluate("(column) => { column.scrollTop = column.scrollHeight; return column.scrollTop; }")

    # then: it scrolled inside itself, its header stayed in place, the page did not move
    assert scrolled > 0
    assert qualify.locator(".kanban-column-header").bounding_box()["y"] == pytest.approx(header_top, abs=1)
    expect(qualify.locator(".kanban-card").last).to_be_in_viewport()
    assert page.evaluate("() => window.scrollY") == 0


def test_on_a_narrow_screen_the_board_scrolls_sideways_inside_its_box_not_the_page(page, login_as, rep):
    # given
    for stage in (Stage.QUALIFY, Stage.NEGOTIATE):
        DealFactory(owner=rep, stage=stage)
    page.set_viewport_size({"width": 900, "height": 800})
    login_as(rep)

    # when
    page.goto("/pipeline/")
    wait_until_htmx_is_idle(page)

    # then: the board is wider inside than its box, and scrolls; the page is not wider than the screen
    board = page.get_by_test_id("kanban")
    assert board.evaluate("(box) => box.scrollWidth > box.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    board.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    expect(page.get_by_test_id("column-lost")).to_be_in_viewport()


def test_a_rep_moves_a_card_with_its_compact_menu(page, login_as, rep):
    # given
    deal = DealFactory(owner=rep, title="Cold chain monitoring", stage=Stage.QUALIFY)
    login_as(rep)
    page.goto("/pipeline/")
    wait_until_htmx_is_idle(page)
    menu = page.get_by_test_id(f"stage-menu-{deal.pk}")
    expect(menu.get_by_text("Move Cold chain monitoring")).to_be_attached()

    # when: they open the card's menu; Escape closes it again
    menu.locator("summary").click()
    expect(menu.get_by_role("button", name="Discover")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu.get_by_role("button", name="Discover")).to_be_hidden()

    # and they open it and choose Discover
    menu.locator("summary").click()
    with page.expect_response(lambda response: "/stage/" in response.url):
        menu.get_by_role("button", name="Discover").click()

    # then: the board is swapped in place with the card in Discover, the keyboard's focus on it
    moved = page.get_by_test_id("column-discover").get_by_test_id(f"card-{deal.pk}")
    expect(moved).to_be_visible()
    expect(moved.get_by_role("link", name="Cold chain monitoring")).to_be_focused()
    assert page.url.endswith("/pipeline/")
    deal.refresh_from_db()
    assert deal.stage == Stage.DISCOVER

    # when: someone else saves the deal, and the rep moves it again from the old board
    Deal.objects.filter(pk=deal.pk).update(version=deal.version + 1)
    wait_until_htmx_is_idle(page)
    menu = page.get_by_test_id(f"stage-menu-{deal.pk}")
    menu.locator("summary").click()
    with page.expect_response(lambda response: "/stage/" in response.url):
        menu.get_by_role("button", name="Negotiate").click()

    # then: the board says why nothing moved
    expect(page.get_by_test_id("board-error")).to_contain_text("changed by someone else")
    expect(page.get_by_test_id("column-discover").get_by_test_id(f"card-{deal.pk}")).to_be_visible()


def test_the_compact_menu_works_without_javascript(page_without_javascript, rep):
    # given: a browser with JavaScript switched off, signed in through the login form
    deal = DealFactory(owner=rep, title="Dock scheduling", stage=Stage.QUALIFY)
    page = page_without_javascript
    sign_in(page, rep)
    page.goto("/pipeline/?scope=mine")

    # when: they open the card's menu (a native disclosure) and choose Propose
    menu = page.get_by_test_id(f"stage-menu-{deal.pk}")
    menu.locator("summary").click()
    menu.get_by_role("button", name="Propose").click()

    # then: the browser posted the form and came back to the board, the card moved
    page.wait_for_url("**/pipeline/?scope=mine")
    expect(page.get_by_text("“Dock scheduling” moved to Propose.")).to_be_visible()
    expect(page.get_by_test_id("column-propose").get_by_test_id(f"card-{deal.pk}")).to_be_visible()

    # and Won from the same menu opens the close form
    menu = page.get_by_test_id(f"stage-menu-{deal.pk}")
    menu.locator("summary").click()
    menu.get_by_role("button", name="Won").click()
    page.wait_for_url(f"**/deals/{deal.pk}/close/?outcome=won")
    expect(page.get_by_label("Won")).to_be_checked()
