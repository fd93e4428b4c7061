"""A user id in Streamlit's Markdown shows as itself: no formatting read into it, and no
email made a link (the browser tests check the page itself: no ``mailto:`` link in the sidebar)."""
from __future__ import annotations

import re

import pytest

from tests.rendered import seen
from ui.plain_text import plain

IDS = ["bob@example.com", "first_last+tag@ex-ample.co.uk", "a*b*$c$ :smile: [x](y) <b>hi</b> `q`",
       "alice", "back\\slash@x.io"]


@pytest.mark.parametrize("text", IDS)
def test_the_reader_sees_the_text_as_given(text):
    assert seen(plain(text)) == text


@pytest.mark.parametrize("text", IDS)
def test_no_markdown_character_is_left_unescaped(text):
    markup = plain(text).replace(":small[]", "")
    assert not re.search(r"(?<!\\)(?:\\\\)*[*_`$\[\]<>~#:]", markup), markup


def test_an_email_is_split_before_its_at_sign_so_it_is_not_autolinked():
    assert plain("bob@example.com") == "bob:small[]\\@example\\.com"
