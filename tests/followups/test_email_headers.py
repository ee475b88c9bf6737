"""The renderer's quick header writing gives exactly the bytes the standard library would.

followups.emails writes short plain headers as they are and encodes subjects with a
running byte count; a mail client must not be able to tell. Compared here, value by
value, with the standard library's compat32 folding and Charset over thousands of
generated headers (a fixed seed: the same values on every run).
"""

import random
import string
from email.charset import BASE64, Charset
from email.header import Header
from email.policy import Compat32

import pytest

from followups.emails import _SUBJECT_CHARSET, _QuickFolding

ASCII = string.ascii_letters + string.digits + string.punctuation + "  \t"
WIDE = "éèçàüßøå“”‘’–—…€中文字😀"


def ascii_values(count: int) -> list[str]:
    rng = random.Random(20261201)
    values = ["", " ", "a", " leading", "trailing ", "two  spaces", "tab\there", "1.0", 'text/plain; charset="utf-8"']
    values += ["x" * n for n in range(60, 90)]
    for _ in range(count):
        values.append("".join(rng.choice(ASCII) for _ in range(rng.randint(0, 110))))
    return values


def subjects(count: int) -> list[str]:
    rng = random.Random(20261202)
    values = ["Hand-off step “Kick-off call” for Acme — Platform rollout is overdue", "é" * 200, "😀" * 40]
    for _ in range(count):
        alphabet = ASCII.replace("\t", "") + WIDE * rng.randint(0, 3)
        values.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 160))))
    return values


@pytest.mark.parametrize("name", ["Subject", "To", "From", "Message-ID", "Content-Type", "X-A-Rather-Long-Header-Name"])
def test_short_plain_headers_are_written_exactly_as_the_standard_folding_writes_them(name):
    quick, standard = _QuickFolding(linesep="\r\n"), Compat32(linesep="\r\n")
    for value in ascii_values(2000):
        assert quick.fold_binary(name, value) == standard.fold_binary(name, value), value


def test_subjects_are_encoded_exactly_as_the_standard_charset_encodes_them():
    standard = Charset("utf-8")
    standard.header_encoding = BASE64
    for subject in subjects(1500):
        ours = Header(subject, _SUBJECT_CHARSET, header_name="Subject").encode(linesep="\r\n", maxlinelen=78)
        theirs = Header(subject, standard, header_name="Subject").encode(linesep="\r\n", maxlinelen=78)
        assert ours == theirs, subject
