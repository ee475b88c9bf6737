"""A person's open work, for their manager or an admin to give to someone else (issue 15:
a deactivated user's accounts, deals, hand-offs, steps, promises and check-ins)."""

from __future__ import annotations

from html import escape
from typing import NamedTuple

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from accounts.access import is_active_user, user_may_reassign, user_may_reassign_holdings_of
from accounts.common.forms import add_service_error
from accounts.models import User
from followups.selectors.open_work import KINDS, HeldGroup, OpenWork, open_work_of
from followups.services.open_work import open_work_reassign

SCOPE_SELECTED = "selected"
SCOPE_ALL = "all"

# A group's rows and a select's options, written in Python with the markup the template
# looped over: ~80 rows and ~110 options a page, each a handful of template nodes, were
# a third of the page's CPU (issue 17).
ROW = (
    "\n        <tr>"
    '\n          <td class="text-center"><input class="form-check-input" type="checkbox" name="items"'
    ' value="{pk}" id="{kind}-{pk}"{checked} aria-label="Tick {title}"></td>'
    '\n          <td><a href="{url}">{title}</a><div class="small text-body-secondary">{detail}</div></td>'
    "\n        </tr>\n      "
)
OPTION = '<option value="{pk}"{selected}>{label}</option>'


class ItemIdsField(forms.Field):
    """A list of row ids, from checkboxes or hidden inputs, each value one id or several
    joined by commas (the page's "listed" field). Not a choice field: an id no longer the
    person's is the service's to refuse, with a message naming the item."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        try:
            ids = [int(item) for joined in value or [] for item in str(joined).split(",")]
        except (TypeError, ValueError):
            raise ValidationError("Choose items from the list.") from None
        # A crafted id past the bigint range would fail in the database, not here.
        if any(not 0 < item_id < 2**63 for item_id in ids):
            raise ValidationError("Choose items from the list.")
        return ids


class OpenWorkReassignForm(forms.Form):
    """One group's submit: the ticked items (or every listed one) and their new holder."""

    kind = forms.ChoiceField(choices=[(kind, kind) for kind in KINDS], widget=forms.HiddenInput)
    items = ItemIdsField(required=False)
    listed = ItemIdsField(required=False)
    to_user = forms.ModelChoiceField(queryset=User.objects.none(), empty_label="Choose a person…")
    scope = forms.ChoiceField(choices=[(SCOPE_SELECTED, "Give the ticked ones"), (SCOPE_ALL, "Give all")])

    def __init__(self, *args, group: HeldGroup, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.group = group
        if self.is_bound:
            # Only a submit is validated: the page draws each select from group.choices
            # (to_user_options), so the unbound forms of a GET build no queryset.
            self.fields["to_user"].queryset = User.objects.filter(pk__in=[user.pk for user in group.choices])
        self.fields["to_user"].label = group.give_label

    @cached_property
    def to_user_options(self) -> SafeString:
        """The "give to" select's options, as the template wrote them (OPTION)."""
        selected = str(self["to_user"].value())
        options = []
        for user in self.group.choices:
            label = f"{user} ({user.team})" if user.team else str(user)
            options.append(
                OPTION.format(pk=user.pk, selected=" selected" if str(user.pk) == selected else "", label=escape(label))
            )
        return mark_safe("".join(options))  # noqa: S308 — the label escaped, the pk an integer

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = cleaned.get("listed" if cleaned.get("scope") == SCOPE_ALL else "items") or []
        if not chosen:
            self.add_error("items", "Tick at least one item, or give them all.")
        cleaned["chosen"] = chosen
        return cleaned


class GroupForm(NamedTuple):
    """One group of the page with its form, and its rows as HTML (held_rows)."""

    group: HeldGroup
    form: OpenWorkReassignForm
    rows: SafeString


def held_rows(group: HeldGroup, ticked: set[str]) -> SafeString:
    """The group's rows (ROW), those whose id is in `ticked` checked."""
    rows = []
    for row in group.rows:
        rows.append(
            ROW.format(
                pk=row.item_id,
                kind=group.kind,
                checked=" checked" if str(row.item_id) in ticked else "",
                title=escape(row.title),
                url=escape(row.url),
                detail=escape(row.detail),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 — every text escaped, the pk an integer, the kind one of KINDS


def _group_forms(work: OpenWork, bound: OpenWorkReassignForm | None) -> list[GroupForm]:
    """Each group with its form and rows (a refused submit keeps its ticks)."""
    result = []
    for group in work.groups:
        if bound is not None and bound.group.kind == group.kind:
            form, ticked = bound, set(bound.data.getlist("items"))
        else:
            form, ticked = OpenWorkReassignForm(group=group, initial={"kind": group.kind}), set()
        result.append(GroupForm(group, form, held_rows(group, ticked)))
    return result


@login_required
@require_http_methods(["GET", "POST"])
def open_work(request: HttpRequest, user_id: int) -> HttpResponse:
    if not (is_active_user(request.user) and user_may_reassign(request.user)):
        # Before looking the person up: a rep learns nothing, not even who exists.
        raise PermissionDenied("Only an admin or a manager sees someone's open work.")
    person = get_object_or_404(User.objects.select_related("team"), pk=user_id)
    if not user_may_reassign_holdings_of(request.user, person):
        raise PermissionDenied("Only an admin or this person's manager sees their open work.")
    work = open_work_of(person, actor=request.user)
    bound = None
    if request.method == "POST":
        kind = request.POST.get("kind")
        group = next((group for group in work.groups if group.kind == kind), None)
        if group is None:
            messages.error(request, "That list is not on this page any more; nothing was reassigned.")
            return redirect("followups:open_work", user_id=person.pk)
        bound = OpenWorkReassignForm(request.POST, group=group)
        if bound.is_valid():
            to_user = bound.cleaned_data["to_user"]
            try:
                count = open_work_reassign(
                    actor=request.user,
                    person=person,
                    kind=kind,
                    item_ids=bound.cleaned_data["chosen"],
                    to_user=to_user,
                )
            except ValidationError as error:
                add_service_error(bound, error)
            else:
                messages.success(request, f"{count} {group.noun} given to {to_user}.")
                return redirect("followups:open_work", user_id=person.pk)
    context = {"person": person, "work": work, "group_forms": _group_forms(work, bound)}
    return render(request, "followups/open_work/open_work.html", context)
