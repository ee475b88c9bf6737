"""The crawl shared by the every-page browser tests (test_csp_every_page, test_axe_every_page):
for each kind of user, Chromium visits every page reachable by links from the home page,
plus the pages no link leads to (the customer's status page, the pulse page, the API docs,
the error pages, a promise's actions) and, for the admin after a second factor, a sample
of Django's own admin. Each test hands the crawl an *inspector* that looks at each page
once it has loaded and returns what is wrong with it.

The demo organisation (seed_demo) is the data: every stage, every hand-off status, every
kind of dropped baton, so the crawl meets each template in its realistic states."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Error as PlaywrightError

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from accounts.two_factor.selectors import AUTHENTICATOR_NAME, BACKUP_CODES_NAME
from followups.models import CheckIn, CustomerPulse, WebhookEndpoint
from followups.selectors.pulse import pulse_token
from followups.services.webhooks import webhook_send_test
from handoffs.imports.services import import_upload
from handoffs.inbound.services import inbound_source_create
from handoffs.models import Handoff, InboundDelivery, Meeting, Playbook, Promise
from handoffs.selectors.handoffs import customer_status_token
from tests.factories import PlaybookFactory, PlaybookStepFactory

ADMIN_SITE = "/" + settings.BATON_ADMIN_PATH

# One demo login per kind of user.
ROLES = {"rep": "rita", "manager": "maria", "delivery lead": "dana", "admin": "ada"}
ANONYMOUS = "anonymous"
DJANGO_ADMIN = "Django's admin"
MAX_PAGES_PER_ROLE = 150
# Pages of one URL name (a deal, a hand-off…) are one template: a few of each show its
# states without visiting every row of the demo.
MAX_PER_URL_NAME = 2
# Django's own admin: Django's templates, so a sample of its pages (no sorting or filters).
MAX_ADMIN_PAGES = 30
# Not pages: files, logging out, and the API's JSON.
SKIPPED = re.compile(r"logout|export|download|\.ics\b|\.csv\b|\.xlsx\b|format=(csv|xlsx|ics)|/api/v1/(?!docs/)", re.I)

BACKUP_CODE = "csptest2"  # eight base32 characters, the shape of a backup code
IMPORT_CSV = (
    b"Deal Name,Company,Amount,Deal Stage,Close Date,Deal Owner\n"
    b"Rollout,Acme,1000,Discover,2030-01-31,rita@baton.example\n"
)

# Runs before any of the page's own scripts: counts htmx requests in flight (the bell and
# other fragments load after the page), so an inspector sees the page as a user does.
HTMX_PENDING_SCRIPT = """
window.__htmxPending = 0;
document.addEventListener("htmx:beforeRequest", function () { window.__htmxPending += 1; });
document.addEventListener("htmx:afterRequest", function () { window.__htmxPending -= 1; });
"""
# After the load event and the fragments: one more moment for the swapped-in HTML to be
# applied (and any event about it dispatched).
SETTLE = "() => new Promise((resolve) => setTimeout(resolve, 40))"

# inspect(page, path, response, role) → the problems found on the page just loaded.
Inspector = Callable[..., list[str]]


@dataclass
class Crawl:
    """What one role's crawl saw."""

    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def normalised(url: str, origin: str) -> str | None:
    """The URL to visit for a link, or None when it is not a page to crawl."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin or SKIPPED.search(url):
        return None
    if parts.path.startswith(ADMIN_SITE) and parts.query:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "page" and (not value.isdigit() or int(value) > 2) for name, value in query):
        return None
    return urlunsplit(("", "", parts.path, urlencode(sorted(query)), ""))


def url_name(path: str) -> str:
    """The resolver's name for a path (one template), or the path when nothing resolves."""
    try:
        return resolve(urlsplit(path).path).view_name
    except Resolver404:
        return path


def settled(page) -> None:
    """Wait until the page's htmx fragments have loaded and been applied."""
    page.wait_for_function("() => (window.__htmxPending || 0) <= 0")
    page.evaluate(SETTLE)


def crawl(
    page,
    origin: str,
    start: list[str],
    inspect: Inspector,
    *,
    role: str,
    follow_links: bool = True,
    within: str = "/",
) -> Crawl:
    """Breadth first from start, by the links of each page (those under within), within
    the budgets above; inspect looks at each page as it loads."""
    result = Crawl()
    queue, seen = deque(start), set(start)
    per_url_name: Counter[str] = Counter()
    admin_pages = 0
    while queue and len(result.visited) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        if path.startswith(ADMIN_SITE):
            admin_pages += 1
            if admin_pages > MAX_ADMIN_PAGES:
                continue
        try:
            response = page.goto(path, wait_until="load")
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue
            raise
        result.visited.append(path if response is None or response.url.endswith(path) else f"{path} → {response.url}")
        if response is not None and response.status >= 500:
            result.problems.append(f"{path}: answered {response.status}")
        result.problems += [f"{path}: {problem}" for problem in inspect(page, path, response, role)]
        if not (follow_links and is_html(response)):
            continue
        for href in page.eval_on_selector_all("a[href]", "links => links.map((link) => link.href)"):
            link = normalised(href, origin)
            if link is None or link in seen or not link.startswith(within):
                continue
            seen.add(link)
            name = url_name(link)
            if per_url_name[name] >= MAX_PER_URL_NAME:
                continue
            per_url_name[name] += 1
            queue.append(link)
    return result


def is_html(response) -> bool:
    return response is not None and "text/html" in response.headers.get("content-type", "")


def report(role: str, result: Crawl) -> None:
    print(f"\n[{role}] {len(result.visited)} pages:")
    for path in result.visited:
        print(f"  {path}")


def customer_pages() -> list[str]:
    """The pages a customer opens from an e-mail: no link in Baton leads to them."""
    handoff = Handoff.objects.filter(deal__deal_contacts__isnull=False).order_by("pk").first()
    contact = handoff.deal.deal_contacts.order_by("pk").first().contact
    checkin = CheckIn.objects.filter(handoff__deal__deal_contacts__isnull=False).order_by("pk").first()
    pulse_contact = checkin.handoff.deal.deal_contacts.order_by("pk").first().contact
    pulse = CustomerPulse.objects.filter(checkin=checkin).first() or CustomerPulse.objects.create(
        checkin=checkin, contact=pulse_contact, account=checkin.handoff.deal.account
    )
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    reset_user = User.objects.get(username="rita")
    return [
        reverse("handoffs:customer_status", args=[customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)]),
        reverse("handoffs:customer_status", args=["not-a-valid-link"]),
        reverse("followups:pulse_page", args=[token]),
        reverse("followups:pulse_page", args=["not-a-valid-link"]),
        reverse(
            "password_reset_confirm",
            args=[urlsafe_base64_encode(force_bytes(reset_user.pk)), default_token_generator.make_token(reset_user)],
        ),
    ]


def work_pages() -> list[str]:
    """Pages only a button or a state leads to: a promise's actions, recording a meeting,
    editing a playbook (a 403 or 404 for whoever may not, which is a page too)."""
    promise = Promise.objects.filter(deal__handoff__isnull=False).order_by("pk").first()
    meeting = Meeting.objects.order_by("pk").first()
    playbook = Playbook.objects.order_by("pk").first()
    return [
        reverse("handoffs:promise_kept", args=[promise.pk]),
        reverse("handoffs:promise_broken", args=[promise.pk]),
        reverse("handoffs:promise_renegotiate", args=[promise.pk]),
        reverse("handoffs:meeting_record", args=[meeting.pk]),
        reverse("handoffs:playbook_edit", args=[playbook.pk]),
    ]


def admin_only_objects() -> None:
    """What the demo does not hold, for the admin's pages: a CRM source with a refused
    delivery, a webhook with a sent test, an import, a playbook."""
    admin, rep = User.objects.get(username="ada"), User.objects.get(username="rita")
    source = inbound_source_create(actor=admin, name="HubSpot", slug="hubspot-main", kind="generic", default_owner=rep)
    InboundDelivery.objects.create(
        source=source,
        received_at=timezone.now(),
        raw_body='{"deal": "Rollout"}',
        signature_ok=True,
        outcome="rejected",
        status_code=422,
    )
    endpoint = WebhookEndpoint.objects.create(
        name="Ops channel", url="https://hooks.example/ops", format="slack", events=["deal.won"]
    )
    webhook_send_test(actor=admin, endpoint=endpoint)
    manager = User.objects.get(username="maria")
    import_upload(actor=manager, uploaded_file=SimpleUploadedFile("deals.csv", IMPORT_CSV, content_type="text/csv"))
    PlaybookStepFactory(playbook=PlaybookFactory())


def sign_in_with_two_factor(page, login_as, user: User) -> None:
    """Django's admin opens to a superuser signed in with a second factor: give them an
    authenticator and a backup code, and sign in with the code."""
    TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=True)
    StaticDevice.objects.create(user=user, name=BACKUP_CODES_NAME, confirmed=True).token_set.create(token=BACKUP_CODE)
    page.context.clear_cookies()
    login_as(user, password=DEMO_PASSWORD)
    page.get_by_label("Code").fill(BACKUP_CODE)
    page.get_by_role("button", name="Verify").click()
    page.get_by_test_id("user-menu").wait_for()


def crawl_every_role(
    page, origin: str, login_as, inspect: Inspector, *, after_role: Callable[[str], None] | None = None
) -> tuple[list[str], dict[str, int]]:
    """Seed the demo and crawl it as nobody, as a customer, as each kind of user and as
    the admin in Django's admin; inspect every page. after_role(role) runs while that
    role is still signed in (for checks on a few of its pages in other conditions).
    Returns every problem (prefixed by the role) and how many pages each role visited.

    The caller adds its own init scripts to page.context before calling; the htmx
    counter (HTMX_PENDING_SCRIPT) is added here."""
    # given: the demo organisation, a customer's links, the admin's integrations
    call_command("seed_demo", verbosity=0)
    admin_only_objects()
    page.context.add_init_script(HTMX_PENDING_SCRIPT)
    everyone_may_open = [reverse("api_docs"), "/no-such-page/"]
    problems: list[str] = []
    visited: dict[str, int] = {}

    # nobody logged in opens the login and password pages and a customer's links
    anonymous = crawl(
        page, origin, [reverse("login"), reverse("password_reset"), *everyone_may_open], inspect, role=ANONYMOUS
    )
    customer = crawl(page, origin, customer_pages(), inspect, role=ANONYMOUS, follow_links=False)
    report(ANONYMOUS, anonymous)
    report("anonymous, customer links", customer)
    problems += [f"[{ANONYMOUS}] {problem}" for problem in anonymous.problems + customer.problems]

    # each kind of user crawls from their home page
    for role, username in ROLES.items():
        page.context.clear_cookies()
        login_as(User.objects.get(username=username), password=DEMO_PASSWORD)
        unlinked = [*everyone_may_open, reverse("accounts:org_settings"), *work_pages()]  # 403s for some
        if role == "admin":
            unlinked.append(ADMIN_SITE)
        result = crawl(page, origin, [reverse("home"), *unlinked], inspect, role=role)
        report(role, result)
        visited[role] = len(result.visited)
        problems += [f"[{role}] {problem}" for problem in result.problems]
        if after_role is not None:
            after_role(role)

    # the admin, signed in with a second factor, goes through Django's own admin
    sign_in_with_two_factor(page, login_as, User.objects.get(username="ada"))
    # (two change forms first: they carry the admin's widgets and their scripts)
    change_forms = [
        reverse("admin:accounts_user_change", args=[User.objects.get(username="rita").pk]),
        reverse("admin:handoffs_handoff_change", args=[Handoff.objects.order_by("pk").first().pk]),
    ]
    admin_site = crawl(page, origin, [ADMIN_SITE, *change_forms], inspect, role=DJANGO_ADMIN, within=ADMIN_SITE)
    report(DJANGO_ADMIN, admin_site)
    visited[DJANGO_ADMIN] = len(admin_site.visited)
    problems += [f"[{DJANGO_ADMIN}] {problem}" for problem in admin_site.problems]
    return problems, visited
