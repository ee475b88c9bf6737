"""Accessibility rules a template can be checked for without a browser (issue 16; the
browser side is tests/browser/test_axe_every_page.py):

- every Bootstrap icon (<i class="bi …">) is hidden from screen readers (aria-hidden="true"):
  an icon is decoration, the words beside it are what is read;
- a link or button whose only content is an icon names itself (aria-label, or
  visually-hidden text), or a screen reader announces "link" and nothing more;
- lateness is never shown by colour alone: an element coloured as late (class "overdue",
  or the design system's "state-late" as text)
  says "late" or "overdue" in words, visible or visually hidden, inside it or right after
  it in the same block (a badge beside a red date);
- a coloured badge (text-bg-*, state-badge, stage-badge) has words or a number in it, never
  only a colour.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
ICON = re.compile(r"<i\b[^>]*\bclass=\"(?:[^\"]*\s)?bi(?:\s[^\"]*)?\"[^>]*>")
LINK_OR_BUTTON = re.compile(r"<(a|button)\b([^>]*)>(.*?)</\1>", re.S)
TEMPLATE_TAG = re.compile(r"{%.*?%}|{#.*?#}", re.S)
TAG = re.compile(r"<[^>]+>")
# The classes that colour text as late (static/css/baton.css); a badge (state-badge) is
# covered by the badge rule.
LATE_CLASSES = {"overdue", "state-late", "state-overdue"}
LATE_WORDS = re.compile(r"\b(late|overdue)\b", re.I)
END_OF_BLOCK = re.compile(r"</(td|li|div|p|dd|th)>")
COLOURED_BADGE = re.compile(r"<span\b[^>]*\bclass=\"[^\"]*\b(text-bg-[a-z]+|state-badge|stage-badge)\b[^\"]*\"[^>]*>")


def templates() -> list[tuple[str, str]]:
    """(name, source) of every HTML template of ours; e-mails are read in a mail client,
    where none of these widgets exist."""
    return [
        (str(path.relative_to(TEMPLATES)), path.read_text())
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.parts[len(TEMPLATES.parts)] != "emails"
    ]


def line_of(source: str, index: int) -> int:
    return source.count("\n", 0, index) + 1


def element_end(source: str, start: int, tag: str) -> int:
    """Where the element whose opening tag starts at start closes (its nested elements of
    the same name counted), or the end of the file for a template that leaves it open."""
    depth, position = 0, start
    pattern = re.compile(rf"<(/?){tag}\b[^>]*>")
    for match in pattern.finditer(source, start):
        depth += -1 if match.group(1) else 1
        position = match.end()
        if depth == 0:
            return position
    return len(source)


def words(html: str) -> str:
    """The text of some template source: no tags, no template tags (a variable counts as text)."""
    return TAG.sub(" ", TEMPLATE_TAG.sub(" ", html)).strip()


def test_the_rules_catch_what_they_are_about():
    # given: the shapes each rule refuses, and the ones it accepts
    bare_icon = '<i class="bi bi-x"></i>'
    icon_only_link = '<a href="/x"><i class="bi bi-x" aria-hidden="true"></i></a>'
    colour_only_late = '<td><span class="overdue">1 May</span></td>'
    late_in_words = '<td><span class="overdue">1 May</span> <span class="badge text-bg-danger">late</span></td>'
    empty_badge = '<span class="badge text-bg-danger"></span>'
    # then
    assert ICON.search(bare_icon) and 'aria-hidden="true"' not in bare_icon
    assert icon_only_problems(icon_only_link) and not icon_only_problems(
        '<a href="/x" aria-label="Close"><i class="bi bi-x" aria-hidden="true"></i></a>'
    )
    assert colour_only_problems(colour_only_late) and not colour_only_problems(late_in_words)
    assert empty_badge_problems(empty_badge) and not empty_badge_problems('<span class="badge text-bg-danger">3</span>')


def icon_problems(source: str) -> list[int]:
    return [line_of(source, m.start()) for m in ICON.finditer(source) if 'aria-hidden="true"' not in m.group(0)]


def icon_only_problems(source: str) -> list[int]:
    problems = []
    for match in LINK_OR_BUTTON.finditer(source):
        attributes, content = match.group(2), match.group(3)
        if not ICON.search(content) or words(content):
            continue
        if "aria-label" in attributes or "aria-labelledby" in attributes or "visually-hidden" in content:
            continue
        problems.append(line_of(source, match.start()))
    return problems


def colour_only_problems(source: str) -> list[int]:
    problems = []
    for match in re.finditer(r"<([a-z][a-z0-9]*)\b[^>]*\bclass=\"([^\"]*)\"[^>]*>", source):
        if not LATE_CLASSES & set(TEMPLATE_TAG.sub(" ", match.group(2)).split()):
            continue  # (a template tag's own words, {% if section == 'overdue' %}, are no class)
        end = element_end(source, match.start(), match.group(1))
        block_end = END_OF_BLOCK.search(source, end)
        around = source[match.start() : block_end.start() if block_end else len(source)]
        if not LATE_WORDS.search(words(around)):
            problems.append(line_of(source, match.start()))
    return problems


def empty_badge_problems(source: str) -> list[int]:
    return [
        line_of(source, m.start())
        for m in COLOURED_BADGE.finditer(source)
        if not words(source[m.end() : element_end(source, m.start(), "span")])
    ]


def test_every_icon_is_hidden_from_screen_readers():
    problems = [f"{name}:{line}" for name, source in templates() for line in icon_problems(source)]
    assert problems == [], 'icons without aria-hidden="true": ' + ", ".join(problems)


def test_every_icon_only_link_or_button_has_a_name():
    problems = [f"{name}:{line}" for name, source in templates() for line in icon_only_problems(source)]
    assert problems == [], "links or buttons with only an icon and no aria-label: " + ", ".join(problems)


def test_lateness_is_said_in_words_not_only_in_red():
    problems = [f"{name}:{line}" for name, source in templates() for line in colour_only_problems(source)]
    assert problems == [], "coloured as late without the word late or overdue: " + ", ".join(problems)


def test_every_coloured_badge_has_words_in_it():
    problems = [f"{name}:{line}" for name, source in templates() for line in empty_badge_problems(source)]
    assert problems == [], "coloured badges with nothing in them: " + ", ".join(problems)
