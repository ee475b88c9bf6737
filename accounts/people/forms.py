"""Forms of the People, Teams and Audit log pages. They validate input only; the
services in accounts.people.services make the change and re-check the rules."""

from __future__ import annotations

from django import forms

from accounts.audit import AuditAction
from accounts.choices import Role
from accounts.common.widgets import FastSelect
from accounts.models import Team, User
from accounts.people.selectors import AUDIT_TARGET_TYPES, team_managers


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=150, help_text="They sign in with this address.")
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="No team")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("Someone already has this e-mail address.")
        return email


class PersonForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="No team")
    managed_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Manager of",
        help_text="The teams whose escalations and reports this person receives (managers only).",
    )

    @classmethod
    def initial_for(cls, user: User) -> dict:
        return {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role,
            "team": user.team_id,
            "managed_teams": [team.pk for team in user.managed_teams.all()],
        }


class _FilterForm(forms.Form):
    """A row of small selects above a list (GET); what does not validate is not applied.
    Its selects are FastSelect: the audit log's "actor" lists everyone (issue 17)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"


class PeopleFilterForm(_FilterForm):
    role = forms.ChoiceField(choices=[("", "Every role"), *Role.choices], required=False, widget=FastSelect)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="Every team", widget=FastSelect
    )
    active = forms.ChoiceField(
        choices=[("", "Active and not"), ("yes", "Active"), ("no", "Deactivated")], required=False, widget=FastSelect
    )

    def filters(self) -> dict:
        """The selector's arguments; a filter that does not validate is not applied."""
        self.is_valid()
        data = self.cleaned_data
        active = {"yes": True, "no": False}.get(data.get("active", ""))
        return {"role": data.get("role", ""), "team": data.get("team"), "active": active}


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    manager = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="No manager",
        help_text="Receives the team's escalations and sees its pipeline and report.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = team_managers()


class AuditFilterForm(_FilterForm):
    action = forms.ChoiceField(choices=[("", "Every action"), *AuditAction.choices], required=False, widget=FastSelect)
    target_type = forms.ChoiceField(
        choices=[("", "Everything"), *AUDIT_TARGET_TYPES], required=False, label="About", widget=FastSelect
    )
    actor = forms.ModelChoiceField(
        queryset=User.objects.order_by("first_name", "last_name", "username"),
        required=False,
        empty_label="Anyone",
        widget=FastSelect,
    )

    def filters(self) -> dict:
        """The selector's arguments; a filter that does not validate is not applied."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "action": data.get("action", ""),
            "target_type": data.get("target_type", ""),
            "actor": data.get("actor"),
        }
