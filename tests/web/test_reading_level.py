"""The patient pages' own words are plain: English at US grade 8 or below (Flesch-Kincaid), Spanish
at 65 or above on the Szigriszt-Pazos scale (INFLESZ "bastante fácil", fairly easy: the Spanish
equivalent of about grade 7 to 8). The knowledge base's clinical texts, medicine names and sources
are left out: they have their own review."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import textstat
from flask.testing import FlaskClient

from .helpers import csrf_token, post_form, text

MAX_ENGLISH_GRADE = 8.0
MIN_SPANISH_SZIGRISZT_PAZOS = 65.0
SKIPPED_TAGS = {"script", "style", "head", "title"}
VOID_TAGS = frozenset(
    {"br", "hr", "img", "input", "link", "meta", "source", "wbr", "area", "base", "col"}
)


class PageProse(HTMLParser):
    """The text a person reads, minus what the page only passes on: elements marked ``data-kb-text``
    (knowledge-base wording) or ``translate="no"`` (medicine names)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth_skipped: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            return
        names = dict(attrs)
        skip = (
            tag in SKIPPED_TAGS
            or "data-kb-text" in names
            or names.get("translate") == "no"
            or (bool(self.depth_skipped) and self.depth_skipped[-1])
        )
        self.depth_skipped.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self.depth_skipped:
            self.depth_skipped.pop()

    def handle_data(self, data: str) -> None:
        if not (self.depth_skipped and self.depth_skipped[-1]) and data.strip():
            self.parts.append(" ".join(data.split()))


def prose(page: str) -> str:
    parser = PageProse()
    parser.feed(page)
    # A heading or list item without a full stop still ends a thought: count it as a sentence.
    return " ".join(p if p[-1] in ".!?:" else f"{p}." for p in parser.parts)


def pages(client: FlaskClient, language: str) -> Iterator[str]:
    client.get(f"/?lang={language}")
    yield text(client.get("/"))
    yield text(post_form(client, []))  # the form with an error
    yield text(post_form(client, ["clonazepam", "oxycodone", "zolpidm"], alcohol=True))
    yield text(post_form(client, ["clonazepam", "amoxicillin"]))  # no warnings
    yield text(post_form(client, ["klonopinn", "oxycodne"]))  # nothing checked
    yield text(client.post("/card", data=_card_form(client)))
    yield text(client.get("/no-such-page"))


def _card_form(client: FlaskClient) -> dict[str, object]:
    return {"medicine": ["clonazepam", "oxycodone"], "csrf_token": csrf_token(client)}


@pytest.fixture()
def textstat_language() -> Iterator[None]:
    yield
    textstat.set_lang("en_US")  # textstat keeps its language globally


def test_the_english_pages_read_at_grade_8_or_below(anonymous: FlaskClient) -> None:
    textstat.set_lang("en_US")
    words = " ".join(prose(page) for page in pages(anonymous, "en"))
    grade = textstat.flesch_kincaid_grade(words)
    print(f"English Flesch-Kincaid grade: {grade}")
    assert grade <= MAX_ENGLISH_GRADE, words


def test_the_spanish_pages_are_fairly_easy_to_read(
    anonymous: FlaskClient, textstat_language: None
) -> None:
    textstat.set_lang("es")
    words = " ".join(prose(page) for page in pages(anonymous, "es"))
    score = textstat.szigriszt_pazos(words)
    print(f"Spanish Szigriszt-Pazos: {score}; Fernández-Huerta: {textstat.fernandez_huerta(words)}")
    assert score >= MIN_SPANISH_SZIGRISZT_PAZOS, words


def test_the_measured_prose_leaves_out_medicine_names_and_clinical_texts(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["clonazepam", "oxycodone"]))
    words = prose(page)
    assert "What to do now" in words
    assert "clonazepam and oxycodone" not in words  # the card title: their list
    assert "can cause death" not in words  # the knowledge base's wording
