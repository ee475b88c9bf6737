"""Two-factor sign-in (issue 15): enrolment on the profile page, the code step after the
password, backup codes, the organisation's requirement for managers and admins, an
admin's reset of a lost device, and the Django admin for verified superusers only."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import AuditAction
from accounts.models import AuditEntry, OrganisationSettings
from accounts.two_factor.admin_site import BatonAdminSite
from accounts.two_factor.selectors import sign_in_state
from accounts.two_factor.services import (
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
    two_factor_reset,
)
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# A fixed instant, so that which 30-second step a code belongs to never depends on when
# the suite runs; each test moves the clock on by whole steps where it needs a new code.
NOON = datetime.datetime(2026, 3, 10, 12, 0, 5, tzinfo=datetime.UTC)
STEP = datetime.timedelta(seconds=30)


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def code_of(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """A user who has set up two-factor (through the services), at the current instant."""
    device = two_factor_enrolment_start(user=user)
    return device, two_factor_enrolment_confirm(user=user, device=device, code=code_of(device))


def sign_in_with_password(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def verified_client(user, device) -> Client:
    """A session that passed both steps (as two_factor_verify leaves it)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def lands_on_a_page(client: Client) -> bool:
    """Whether the client, sent home, gets a page of Baton and not a sign-in step."""
    response = client.get(reverse("home"), follow=True)
    final = response.redirect_chain[-1][0] if response.redirect_chain else reverse("home")
    return response.status_code == 200 and "/two-factor/" not in final and not final.startswith(reverse("login"))


def require_two_factor_for_staff() -> None:
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(two_factor_required_for_staff=True)


# --- enrolment ------------------------------------------------------------------------


def test_the_profile_page_offers_to_set_it_up(client_for, rep):
    response = client_for(rep).get(reverse("accounts:profile"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Two-factor sign-in" in page
    assert reverse("accounts:two_factor_start") in page


def test_starting_enrolment_shows_a_qr_code_and_the_secret_without_turning_it_on(client_for, rep):
    # given
    client = client_for(rep)
    # when
    response = client.post(reverse("accounts:two_factor_start"))
    # then
    assert response.status_code == 302 and response.url == reverse("accounts:two_factor_setup")
    page = client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=rep)
    assert device.confirmed is False
    secret = page.context["enrolment"].secret
    assert secret.replace(" ", "") in page.content.decode().replace(" ", "")
    assert 'src="data:image/svg+xml' in page.content.decode()
    assert 'style="' not in page.content.decode()  # the Content-Security-Policy refuses inline style
    assert sign_in_state(rep).enrolled is False


def test_a_wrong_code_does_not_turn_it_on(client_for, rep, clock):
    # given
    client = client_for(rep)
    client.post(reverse("accounts:two_factor_start"))
    device = TOTPDevice.objects.get(user=rep)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    # when
    response = client.post(reverse("accounts:two_factor_setup"), {"code": wrong})
    # then
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.filter(user=rep).exists()
    assert not AuditEntry.objects.filter(action=AuditAction.TWO_FACTOR_ENABLED).exists()


def test_the_right_code_turns_it_on_and_shows_ten_backup_codes_once(client_for, rep, clock):
    # given
    client = client_for(rep)
    client.post(reverse("accounts:two_factor_start"))
    device = TOTPDevice.objects.get(user=rep)
    # when
    response = client.post(reverse("accounts:two_factor_setup"), {"code": code_of(device)})
    # then: on, with ten codes shown in this answer and never cached
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 == len(set(codes))
    assert all(code in response.content.decode() for code in codes)
    assert "no-store" in response["Cache-Control"]
    device.refresh_from_db()
    assert device.confirmed is True
    assert sorted(StaticToken.objects.filter(device__user=rep).values_list("token", flat=True)) == sorted(codes)
    # and: recorded
    entry = AuditEntry.objects.get(action=AuditAction.TWO_FACTOR_ENABLED)
    assert (entry.actor, entry.target_id, entry.changes) == (rep, str(rep.pk), {"two_factor": ["off", "on"]})
    # and: this session counts as verified; the profile says it is on
    profile = client.get(reverse("accounts:profile"))
    assert profile.status_code == 200
    assert "Backup codes and turning it off" in profile.content.decode()
    # and: the codes are not shown again
    assert not any(code in client.get(reverse("accounts:two_factor")).content.decode() for code in codes)


# --- the second step of signing in -------------------------------------------------------


def test_an_enrolled_user_enters_a_code_after_the_password_before_any_page(rep, clock):
    # given
    device, _codes = enrol(rep)
    client = sign_in_with_password(rep)
    # when: the password alone
    home = client.get(reverse("handoffs:deal_list"))
    # then: the code step, which remembers where they were going
    verify = reverse("accounts:two_factor_verify")
    assert home.status_code == 302 and home.url == f"{verify}?next=%2Fdeals%2F"
    assert client.get(reverse("accounts:profile")).url.startswith(verify)
    # when: the code of the next 30 seconds (the one of enrolment is spent)
    clock.shift(STEP)
    response = client.post(verify, {"code": code_of(device), "next": "/deals/"})
    # then
    assert response.status_code == 302 and response.url == "/deals/"
    assert client.get(reverse("handoffs:deal_list")).status_code == 200


def test_a_code_is_accepted_with_the_spaces_an_app_shows(rep, clock):
    device, _codes = enrol(rep)
    client = sign_in_with_password(rep)
    clock.shift(STEP)
    code = code_of(device)
    response = client.post(reverse("accounts:two_factor_verify"), {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302 and response.url == reverse("home")


def test_a_code_works_only_once(rep, clock):
    # given: signed in with this step's code
    device, _codes = enrol(rep)
    clock.shift(STEP)
    code = code_of(device)
    first = sign_in_with_password(rep)
    assert first.post(reverse("accounts:two_factor_verify"), {"code": code}).status_code == 302
    # when: the same code again, in the same 30 seconds (someone who looked over a shoulder)
    clock.shift(datetime.timedelta(seconds=2))
    second = sign_in_with_password(rep)
    response = second.post(reverse("accounts:two_factor_verify"), {"code": code})
    # then
    assert response.status_code == 200
    assert "not right (or was already used)" in response.content.decode()


def test_a_backup_code_signs_in_once(rep, clock):
    # given
    _device, codes = enrol(rep)
    # when
    client = sign_in_with_password(rep)
    response = client.post(reverse("accounts:two_factor_verify"), {"code": codes[0].upper()})
    # then
    assert response.status_code == 302
    assert lands_on_a_page(client)
    assert StaticToken.objects.filter(device__user=rep).count() == 9
    # when: the same code again
    clock.shift(STEP)
    again = sign_in_with_password(rep)
    refused = again.post(reverse("accounts:two_factor_verify"), {"code": codes[0]})
    # then
    assert refused.status_code == 200
    assert again.get(reverse("home")).url.startswith(reverse("accounts:two_factor_verify"))


def test_five_wrong_codes_send_the_user_back_to_the_password(rep, clock):
    # given
    device, _codes = enrol(rep)
    client = sign_in_with_password(rep)
    wrong = f"{(int(code_of(device)) + 500_000) % 1_000_000:06d}"
    verify = reverse("accounts:two_factor_verify")
    # when: four wrong codes
    for tries_left in (4, 3, 2, 1):
        clock.shift(STEP * 2)  # past django-otp's growing wait between tries
        response = client.post(verify, {"code": wrong})
        assert response.status_code == 200
        assert f"{tries_left} tries left" in response.content.decode()
    # and: a fifth
    clock.shift(STEP * 2)
    response = client.post(verify, {"code": wrong}, follow=True)
    # then: signed out, with a message
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("home")).url.startswith(reverse("login"))


def test_a_right_code_straight_after_a_wrong_one_must_wait(rep, clock):
    # given
    device, _codes = enrol(rep)
    client = sign_in_with_password(rep)
    clock.shift(STEP)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("accounts:two_factor_verify"), {"code": wrong})
    # when: the right one within the second
    response = client.post(reverse("accounts:two_factor_verify"), {"code": code_of(device)})
    # then
    assert "wait a few seconds" in response.content.decode()
    # when: a moment later
    clock.shift(datetime.timedelta(seconds=2))
    assert client.post(reverse("accounts:two_factor_verify"), {"code": code_of(device)}).status_code == 302


def test_the_code_step_never_sends_elsewhere(rep, clock):
    device, _codes = enrol(rep)
    client = sign_in_with_password(rep)
    clock.shift(STEP)
    response = client.post(
        reverse("accounts:two_factor_verify"), {"code": code_of(device), "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


def test_pages_without_a_signed_in_user_stay_open_before_the_code(rep, clock):
    enrol(rep)
    client = sign_in_with_password(rep)
    assert client.get(reverse("health")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302


def test_an_htmx_request_before_the_code_loads_the_code_step_as_a_page(rep, clock):
    enrol(rep)
    client = sign_in_with_password(rep)
    response = client.get(reverse("followups:bell"), headers={"HX-Request": "true", "HX-Current-URL": "/deals/"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("accounts:two_factor_verify")
    # …but never reloads the code step itself (its own polling would loop)
    on_the_step = client.get(
        reverse("followups:bell"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/me/two-factor/verify/?next=/"},
    )
    assert on_the_step.status_code == 204 and "HX-Redirect" not in on_the_step


def test_users_without_two_factor_sign_in_with_the_password_alone(rep):
    client = sign_in_with_password(rep)
    assert lands_on_a_page(client)
    assert client.get(reverse("accounts:two_factor_verify")).url == reverse("home")


def test_the_sign_in_state_is_one_query(rep, django_assert_num_queries):
    with django_assert_num_queries(1):
        sign_in_state(rep)


# --- backup codes and turning it off -------------------------------------------------------


def test_new_backup_codes_need_a_current_code_and_replace_the_old_ones(rep, clock):
    # given
    device, old_codes = enrol(rep)
    client = verified_client(rep, device)
    # when: no password nor code
    refused = client.post(reverse("accounts:two_factor_backup_codes"), {})
    # then
    assert refused.status_code == 200
    assert "Enter your password or a code" in refused.content.decode()
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(old_codes)
    # when: with a current code
    clock.shift(STEP)
    response = client.post(reverse("accounts:two_factor_backup_codes"), {"codes-code": code_of(device)})
    # then
    assert response.status_code == 200
    new_codes = response.context["codes"]
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new_codes)
    assert not set(new_codes) & set(old_codes)


def test_a_user_turns_it_off_with_their_password(rep, clock):
    # given
    device, _codes = enrol(rep)
    client = verified_client(rep, device)
    # when: a wrong password
    wrong = client.post(reverse("accounts:two_factor_disable"), {"disable-password": "not it"})
    # then
    assert wrong.status_code == 200
    assert "That is not your password" in wrong.content.decode()
    assert sign_in_state(rep).enrolled is True
    # when: the right one
    response = client.post(reverse("accounts:two_factor_disable"), {"disable-password": TEST_PASSWORD})
    # then
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=rep).exists() and not StaticDevice.objects.filter(user=rep).exists()
    assert AuditEntry.objects.get(action=AuditAction.TWO_FACTOR_RESET).actor == rep
    assert lands_on_a_page(sign_in_with_password(rep))


# --- required for managers and admins ---------------------------------------------------


def test_when_required_a_manager_without_it_can_reach_only_enrolment(client_for, manager):
    # given
    require_two_factor_for_staff()
    client = client_for(manager)
    # when / then
    for url in (reverse("home"), reverse("handoffs:deal_list"), reverse("accounts:profile")):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("accounts:two_factor"), url
    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200
    assert "requires two-factor sign-in" in page.content.decode()
    assert client.post(reverse("accounts:two_factor_start")).url == reverse("accounts:two_factor_setup")


def test_when_required_an_admin_without_it_is_sent_to_enrolment_too(client_for, admin_user):
    require_two_factor_for_staff()
    assert client_for(admin_user).get(reverse("home")).url == reverse("accounts:two_factor")


def test_when_required_a_manager_who_enrols_goes_on_and_may_not_turn_it_off(client_for, manager, clock):
    # given
    require_two_factor_for_staff()
    client = client_for(manager)
    client.post(reverse("accounts:two_factor_start"))
    device = TOTPDevice.objects.get(user=manager)
    # when
    client.post(reverse("accounts:two_factor_setup"), {"code": code_of(device)})
    # then
    assert lands_on_a_page(client)
    refused = client.post(reverse("accounts:two_factor_disable"), {"disable-password": TEST_PASSWORD})
    assert "requires two-factor" in refused.content.decode()
    assert sign_in_state(manager).enrolled is True


def test_when_required_reps_and_delivery_leads_may_still_go_without(client_for, rep, delivery_lead):
    require_two_factor_for_staff()
    assert lands_on_a_page(client_for(rep))
    assert Client().get(reverse("home")).status_code == 302  # (anonymous: the login, as ever)
    delivery = Client()
    delivery.force_login(delivery_lead)
    assert lands_on_a_page(delivery)


def test_without_the_setting_a_manager_signs_in_with_the_password_alone(client_for, manager):
    assert lands_on_a_page(client_for(manager))


def test_an_admin_turns_the_requirement_on_in_the_settings(client_for, admin_user):
    # given
    client = client_for(admin_user)
    form = client.get(reverse("accounts:org_settings")).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["default_checkin_cadence"] = "7, 30, 90"
    data["two_factor_required_for_staff"] = "on"
    # when
    response = client.post(reverse("accounts:org_settings"), data)
    # then
    assert response.status_code == 302
    assert OrganisationSettings.load().two_factor_required_for_staff is True


# --- an admin resets a lost device ----------------------------------------------------------


def test_an_admin_resets_a_users_two_factor_and_it_is_recorded(client_for, admin_user, rep, clock):
    # given
    enrol(rep)
    # when
    response = client_for(admin_user).post(
        reverse("accounts:two_factor_reset", args=[rep.pk]), {"next": f"/people/{rep.pk}/"}
    )
    # then
    assert response.status_code == 302 and response.url == f"/people/{rep.pk}/"
    assert sign_in_state(rep).enrolled is False
    assert not StaticToken.objects.filter(device__user=rep).exists()
    entry = AuditEntry.objects.get(action=AuditAction.TWO_FACTOR_RESET)
    assert (entry.actor, entry.target_type, entry.target_id) == (admin_user, "user", str(rep.pk))
    assert entry.changes == {"two_factor": ["on", "off"]}
    # and: the user signs in with the password alone
    assert lands_on_a_page(sign_in_with_password(rep))


def test_a_reset_never_redirects_off_the_site(client_for, admin_user, rep):
    response = client_for(admin_user).post(
        reverse("accounts:two_factor_reset", args=[rep.pk]), {"next": "//evil.example/"}
    )
    assert response.url == reverse("accounts:profile")


@pytest.mark.parametrize("who", ["manager", "rep", "delivery_lead"])
def test_only_an_admin_may_reset(request, client_for, other_rep, who, clock):
    # given
    enrol(other_rep)
    # when
    response = client_for(request.getfixturevalue(who)).post(reverse("accounts:two_factor_reset", args=[other_rep.pk]))
    # then
    assert response.status_code == 403
    assert sign_in_state(other_rep).enrolled is True
    assert not AuditEntry.objects.filter(action=AuditAction.TWO_FACTOR_RESET).exists()


def test_the_reset_service_refuses_a_non_admin(manager, rep):
    with pytest.raises(PermissionDenied):
        two_factor_reset(actor=manager, user=rep)


def test_a_reset_is_a_post(client_for, admin_user, rep):
    assert client_for(admin_user).get(reverse("accounts:two_factor_reset", args=[rep.pk])).status_code == 405


def test_resetting_an_unknown_user_is_a_404(client_for, admin_user):
    assert client_for(admin_user).post(reverse("accounts:two_factor_reset", args=[999_999])).status_code == 404


# --- the Django admin ------------------------------------------------------------------------


def test_the_admin_is_at_the_configured_path(settings):
    assert reverse("admin:index") == f"/{settings.BATON_ADMIN_PATH}"
    assert not reverse("admin:index").startswith("/admin/")


def test_the_admin_refuses_a_superuser_who_did_not_pass_two_factor(client_for, admin_user):
    # given: a superuser with a password alone (no device)
    client = client_for(admin_user)
    # when
    response = client.get(reverse("admin:index"), follow=True)
    # then
    assert response.status_code == 403
    assert "two-factor" in response.content.decode()


def test_an_enrolled_superuser_is_sent_to_the_code_step_then_enters_the_admin(admin_user, clock):
    # given
    device, _codes = enrol(admin_user)
    client = sign_in_with_password(admin_user)
    # when
    response = client.get(reverse("admin:index"))
    # then
    assert response.url.startswith(reverse("accounts:two_factor_verify"))
    clock.shift(STEP)
    client.post(reverse("accounts:two_factor_verify"), {"code": code_of(device)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_refuses_staff_who_are_not_superusers_even_verified(manager, clock):
    # given: a verified manager who is also marked staff
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    device, _codes = enrol(manager)
    client = verified_client(manager, device)
    # when / then
    assert client.get(reverse("admin:index"), follow=True).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist"), follow=True).status_code == 403


def test_the_admin_sends_a_stranger_to_baton_s_own_login(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))


def test_the_default_admin_site_requires_two_factor(rf, admin_user):
    reverse("admin:index")  # the URLconf, which mounts the admin, is loaded
    assert isinstance(admin_site, BatonAdminSite)
    request = rf.get("/")
    request.user = admin_user
    admin_user.is_verified = lambda: False
    assert admin_site.has_permission(request) is False
    admin_user.is_verified = lambda: True
    assert admin_site.has_permission(request) is True
