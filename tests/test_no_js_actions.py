"""Every state-changing control works without JavaScript (issue 16): a slow or blocked
script must never strand a user. htmx only enhances: each element that posts with htmx
(hx-post, hx-put, hx-patch, hx-delete) is a real <form method="post" action="…"> or a
submit button inside one, so the browser can send the same request by itself, and
whatever htmx adds to the request (hx-vals) the form also carries as its own fields.

The templates are read as text, not rendered: a Django tag or variable inside an
attribute stands for "some value", which is all these checks need.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

HTMX_WRITES = ("hx-post", "hx-put", "hx-patch", "hx-delete")
TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Template syntax is replaced before parsing: a comment by nothing, a tag or a variable
# by a placeholder word, so `action="{% url 'x' %}"` still reads as a non-empty action
# and `{% if a %} selected{% endif %}` inside a tag only adds harmless attribute names.
_COMMENT_BLOCK = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
_COMMENT = re.compile(r"{#.*?#}", re.S)
_TAG = re.compile(r"{%.*?%}", re.S)
_VARIABLE = re.compile(r"{{.*?}}", re.S)


# Markup a view renders once and the template prints as a variable (the board's stage menu,
# the same for every card of a column) is named where it is printed, `{# renders: path #}`,
# and read here in its place.
_RENDERS = re.compile(r"{#\s*renders:\s*(\S+)\s*#}")


def _with_prerendered_parts(source: str) -> str:
    return _RENDERS.sub(lambda match: (TEMPLATES / match.group(1)).read_text(), source)


def _without_template_syntax(source: str) -> str:
    source = _with_prerendered_parts(source)
    source = _COMMENT_BLOCK.sub("", source)
    source = _COMMENT.sub("", source)
    source = _TAG.sub("T", source)
    return _VARIABLE.sub("V", source)


@dataclass
class _Form:
    line: int
    posts: bool  # method="post" with a non-empty action: the browser can send it alone
    field_names: set[str] = field(default_factory=set)
    has_submit: bool = False
    htmx_enhanced: bool = False
    hx_vals: list[tuple[int, set[str]]] = field(default_factory=list)


def _is_submit(tag: str, attrs: dict[str, str | None]) -> bool:
    kind = (attrs.get("type") or "").lower()
    if tag == "button":
        return kind in ("", "submit")
    return tag == "input" and kind in ("submit", "image")


def _hx_vals_keys(value: str | None) -> set[str]:
    try:
        values = json.loads(value or "{}")
    except ValueError:
        return {"<hx-vals that is not plain JSON>"}
    return set(values) if isinstance(values, dict) else set()


class _HtmxWriteChecker(HTMLParser):
    """Collects, for one template, every control that posts with htmx but could not be
    sent by the browser on its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.form: _Form | None = None
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {name.lower(): value for name, value in attr_list}
        line = self.getpos()[0]
        writes = [name for name in HTMX_WRITES if name in attrs]
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self.form = _Form(line=line, posts=method == "post" and bool((attrs.get("action") or "").strip()))
            self.forms.append(self.form)
            if writes:
                self.form.htmx_enhanced = True
                if not self.form.posts:
                    self.problems.append(
                        f'line {line}: <form {writes[0]}> needs method="post" and an action to work without JavaScript'
                    )
                self.form.hx_vals.append((line, _hx_vals_keys(attrs.get("hx-vals"))))
            return
        if self.form is not None:
            if tag in ("input", "select", "textarea", "button") and attrs.get("name"):
                self.form.field_names.add(attrs["name"] or "")
            if _is_submit(tag, attrs):
                self.form.has_submit = True
        if not writes:
            return
        if not _is_submit(tag, attrs):
            self.problems.append(
                f'line {line}: <{tag} {writes[0]}> posts only with JavaScript: make it a <form method="post" '
                f'action="…"> (or a submit button inside one)'
            )
        elif self.form is None or not self.form.posts:
            self.problems.append(
                f'line {line}: <{tag} {writes[0]}> is a submit button outside a <form method="post" action="…">'
            )
        else:
            self.form.htmx_enhanced = True
            self.form.hx_vals.append((line, _hx_vals_keys(attrs.get("hx-vals"))))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None

    def close(self) -> None:
        super().close()
        for form in self.forms:
            if not form.htmx_enhanced:
                continue
            if not form.has_submit:
                self.problems.append(
                    f"line {form.line}: the form htmx posts has no submit button: without JavaScript "
                    "nothing sends it (add one, in <noscript> if htmx sends it on change)"
                )
            for line, keys in form.hx_vals:
                missing = keys - form.field_names
                if missing:
                    self.problems.append(
                        f"line {line}: hx-vals sends {sorted(missing)}, which the form does not carry as fields "
                        "(add hidden inputs): without JavaScript they would be lost"
                    )


def htmx_write_problems(source: str) -> list[str]:
    """What keeps the htmx writes of one template's source from working without JavaScript."""
    checker = _HtmxWriteChecker()
    checker.feed(_without_template_syntax(source))
    checker.close()
    return checker.problems


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_with_htmx_writes_to_check():
    # The scan below must be looking at the real templates, htmx writes included.
    sources = [path.read_text() for path in _templates()]
    assert len(sources) > 50
    assert sum("hx-post" in source for source in sources) >= 5


@pytest.mark.parametrize("path", _templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_every_htmx_write_is_a_real_form(path: Path):
    problems = htmx_write_problems(path.read_text())
    assert not problems, f"{path.relative_to(TEMPLATES)}:\n" + "\n".join(problems)


# --- the checker itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '<button hx-post="/x/" hx-target="#a">Done</button>',
        '<a href="#" hx-delete="/x/">Remove</a>',
        '<form hx-post="/x/"><input name="reason"><button>Skip</button></form>',
        '<form method="post" hx-post="/x/"><button>Skip</button></form>',
        '<form method="get" action="/x/"><button hx-post="/x/">Go</button></form>',
        '<select name="stage" hx-post="{% url "s" 1 %}" hx-trigger="change"><option>a</option></select>',
        '<form method="post" action="/x/" hx-post="/x/" hx-trigger="change"><select name="stage"></select></form>',
        '<form method="post" action="/x/" hx-post="/x/" hx-vals=\'{"version": "{{ v }}"}\'><button>Go</button></form>',
        '<form method="post" action="/x/"><button type="button" hx-post="/x/">Go</button></form>',
    ],
)
def test_the_checker_refuses_what_needs_javascript(source: str):
    assert htmx_write_problems(source)


def test_the_checker_reads_a_prerendered_part_where_it_is_printed():
    form = '<form method="post" action="/x/" hx-post="/x/">{{ menu }}{# renders: %s #}</form>'
    assert not htmx_write_problems(form % "handoffs/deals/_stage_menu_items.html")  # its buttons submit
    assert htmx_write_problems(form % "partials/empty_state.html")  # no submit button there


@pytest.mark.parametrize(
    "source",
    [
        '<form method="post" action="{% url "a" 1 %}" hx-post="{% url "a" 1 %}">{% csrf_token %}'
        "<button>Accept</button></form>",
        '<form method="POST" action="/x/">{% csrf_token %}<button hx-post="/x/" type="submit">Done</button></form>',
        '<form method="post" action="/x/" hx-post="/x/" hx-trigger="change">'
        '<select name="stage"></select><noscript><button>Move</button></noscript></form>',
        '<form method="post" action="/x/" hx-post="/x/" hx-vals=\'{"version": "{{ v }}"}\'>'
        '<input type="hidden" name="version" value="{{ v }}"><button>Go</button></form>',
        '<div hx-get="/x/" hx-trigger="load"></div>',
        "{# <button hx-post='/x/'>old</button> #}",
    ],
)
def test_the_checker_accepts_forms_that_work_without_javascript(source: str):
    assert htmx_write_problems(source) == []
