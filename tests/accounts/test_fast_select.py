"""FastSelect (issue 17): Django's <select> markup, written without a template per option."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.urls import reverse

from accounts.common.widgets import FastSelect
from accounts.forms import TIMEZONE_CHOICES
from accounts.models import Team

pytestmark = pytest.mark.django_db


def same_markup(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


@pytest.mark.parametrize("value", ["Europe/Paris", "", None, "Mars/Olympus"])
def test_it_renders_what_djangos_select_renders(value):
    # given
    attrs = {"id": "id_timezone", "class": "form-select", "aria-invalid": "true"}
    # when
    fast = FastSelect(choices=TIMEZONE_CHOICES).render("timezone", value, attrs)
    django = forms.Select(choices=TIMEZONE_CHOICES).render("timezone", value, attrs)
    # then
    assert same_markup(fast) == same_markup(django)
    assert fast.count(" selected") == (1 if value == "Europe/Paris" else 0)


def test_it_escapes_values_and_labels():
    # when
    html = FastSelect(choices=[('"><script>', "<b>Tom & Jerry</b>")]).render("x<y", '"><script>')
    # then
    assert "<script>" not in html and "<b>" not in html
    assert '<option value="&quot;&gt;&lt;script&gt;" selected>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</option>' in html
    assert 'name="x&lt;y"' in html


def test_it_lists_a_querysets_rows_with_the_chosen_one_selected():
    # given
    first, second = Team.objects.create(name="Alpha & Co"), Team.objects.create(name="Beta")

    class TeamForm(forms.Form):
        team = forms.ModelChoiceField(Team.objects.order_by("name"), required=False, widget=FastSelect)

    # when
    html = str(TeamForm({"team": second.pk})["team"])
    # then
    assert f'<option value="{first.pk}">Alpha &amp; Co</option>' in html
    assert f'<option value="{second.pk}" selected>Beta</option>' in html
    assert '<option value="">---------</option>' in html


def test_grouped_choices_fall_back_to_djangos_rendering():
    # given
    choices = [("Europe", [("Europe/Paris", "Paris")]), ("", "None")]
    # when / then
    html = FastSelect(choices=choices).render("tz", "Europe/Paris")
    assert '<optgroup label="Europe">' in html and "selected" in html


def test_a_querysets_options_cost_one_query(django_assert_num_queries):
    # given
    Team.objects.create(name="Alpha")

    class TeamForm(forms.Form):
        team = forms.ModelChoiceField(Team.objects.order_by("name"), required=False, widget=FastSelect)

    form = TeamForm({})
    # when / then
    with django_assert_num_queries(1):
        str(form["team"])


def test_the_profile_page_selects_the_users_zone_and_marks_a_refused_one(client_for, rep):
    # given
    rep.timezone = "America/New_York"
    rep.save(update_fields=["timezone"])
    client = client_for(rep)
    # when
    shown = client.get(reverse("accounts:profile")).content.decode()
    refused = client.post(
        reverse("accounts:profile"),
        {"first_name": "A", "last_name": "B", "email": rep.email, "timezone": "Mars/Olympus"},
    ).content.decode()
    # then
    assert '<option value="America/New_York" selected>America/New York</option>' in shown
    select = re.search(r'<select name="timezone"[^>]*>', refused).group(0)
    assert "is-invalid" in select and 'aria-invalid="true"' in select
    assert " selected>" not in refused.split(select)[1].split("</select>")[0]
