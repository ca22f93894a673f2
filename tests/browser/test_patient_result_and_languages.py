"""The result page read danger first, in English and Spanish, and its wallet card, in real Chromium:
on a 390×844 phone the 911 signs are on screen before any scrolling, the language switch works without
JavaScript, the card prints on one page, and axe-core finds nothing in either language."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import _page
from .test_patient_pages import _axe_scan, expect, verdict

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# The list: an opioid, a benzodiazepine, a sleep medicine, alcohol, and a typo.
FRIGHTENING_LIST = ("zolpidem", "clonazepam", "oxycodone", "amoxicilin")

# Words the tests look for, per language: the page's own words, from the catalogues.
WORDS = {
    "en": {
        "check": "Check my medicines",
        "call_911": "Call 911 right away if someone:",
        "what_to_do": "What to do now",
        "switch": "Español",
        "card": "Make a wallet card for my pharmacist",
        "card_heading": "My medicine check",
        "again": "Check again with my choices",
        "verdict": "5 serious warnings and 2 moderate warnings; 1 medicine not checked",
    },
    "es": {
        "check": "Revisar mis medicamentos",
        "call_911": "Llame al 911 de inmediato si alguien:",
        "what_to_do": "Qué hacer ahora",
        "switch": "English",
        "card": "Hacer una tarjeta para mi farmacéutico",
        "card_heading": "Revisión de mis medicamentos",
        "again": "Revisar otra vez con lo que elegí",
        "verdict": "5 advertencias graves y 2 advertencias moderadas; 1 medicamento sin revisar",
    },
}


@pytest.fixture()
def phone(browser: Any) -> Iterator[Any]:
    yield from _page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


def fill(page: Any, language: str, names: tuple[str, ...], alcohol: bool = False) -> None:
    """The form in the page's language: the fields are found by their place, not their label."""
    for number, name in enumerate(names, start=1):
        if number > 1:
            page.locator("#add-medicine").click()
        page.locator(f"#medicine-{number}").fill(name)
        page.locator(f"#medicine-{number}").press("Tab")
    if alcohol:
        page.locator("#alcohol").check()
    page.get_by_role("button", name=WORDS[language]["check"]).last.click()


def open_result(page: Any, live_server: str, language: str) -> None:
    page.goto(f"{live_server}/?lang={language}")
    fill(page, language, FRIGHTENING_LIST, alcohol=True)
    expect(verdict(page)).to_have_text(WORDS[language]["verdict"])


# The longest verdict we can think of: two dangerous combinations, serious and moderate warnings, and
# two names recognised as nothing at all.
LONGEST_VERDICT_LIST = ("sodium oxybate", "zolpidem", "clonazepam", "oxycodone", "xyzzy", "qwerty")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    "names", [FRIGHTENING_LIST, LONGEST_VERDICT_LIST], ids=["issue", "longest"]
)
def test_on_a_phone_the_911_signs_are_on_screen_before_any_scrolling(
    phone: Any, live_server: str, language: str, names: tuple[str, ...]
) -> None:
    phone.goto(f"{live_server}/?lang={language}")
    fill(phone, language, names, alcohol=True)
    expect(phone.locator("article.card").first).to_be_attached()
    assert phone.evaluate("() => window.scrollY") == 0
    box = phone.locator("section.emergency").bounding_box()
    assert box is not None
    print(f"911 box bottom: {box['y'] + box['height']:.0f} px")
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
        f"the 911 box ends at {box['y'] + box['height']:.0f} px, below the {PHONE['height']} px screen"
    )
    expect(phone.get_by_role("heading", name=WORDS[language]["call_911"])).to_be_in_viewport()
    expect(phone.get_by_role("heading", name=WORDS[language]["what_to_do"])).to_be_in_viewport()


def test_the_warning_that_can_cause_death_is_read_first(page: Any, live_server: str) -> None:
    open_result(page, live_server, "en")
    cards = page.locator("article.card")
    expect(cards.first.locator(".card-title")).to_have_text("clonazepam and oxycodone")
    expect(cards.first).to_contain_text("this can cause death")
    badges = cards.locator(".badge").all_text_contents()
    assert badges == ["Serious"] * 5 + ["Moderate"] * 2


def test_a_spanish_result_reads_the_opioid_combinations_first_under_spanish_titles(
    page: Any, live_server: str
) -> None:
    open_result(page, live_server, "es")
    cards = page.locator("article.card")
    assert cards.locator(".card-title").all_text_contents()[:3] == [
        "clonazepam y oxycodone",  # R1: naloxone suggested
        "oxycodone y alcohol",  # R5: an opioid with alcohol
        "zolpidem y oxycodone",  # R12: an opioid with another sedative
    ]
    expect(cards.first).to_contain_text("R1: Opioide con una benzodiazepina.")
    expect(cards.nth(1)).to_contain_text("R5: Opioide con alcohol.")
    other_rules = page.locator("ul.also-applies li")
    expect(
        other_rules.filter(has_text="Alcohol con un medicamento que da sueño").first
    ).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("with a benzodiazepine")


def test_each_sentence_of_advice_is_said_once(page: Any, live_server: str) -> None:
    open_result(page, live_server, "en")
    texts = " ".join(page.locator("article.card .patient-text").all_text_contents())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", texts) if s]
    assert len(sentences) == len(set(sentences)), "a sentence is repeated across the warnings"
    assert texts.count("Stopping it suddenly can be dangerous.") == 1


def test_every_did_you_mean_is_chosen_first_then_checked_once(
    page_without_js: Any, live_server: str
) -> None:
    page = page_without_js
    page.goto(live_server)
    page.get_by_label("Medicine 1", exact=True).fill("klonopinn")
    page.get_by_role("button", name="Add another medicine").click()
    page.get_by_label("Medicine 2", exact=True).fill("oxycodne")
    page.get_by_label("Medicine 2", exact=True).press("Enter")
    expect(verdict(page)).to_have_text("We could not check your medicines")

    page.get_by_role("group", name=re.compile("You typed klonopinn")).get_by_label(
        "Klonopin (clonazepam)"
    ).check()
    page.get_by_role("group", name=re.compile("You typed oxycodne")).get_by_label(
        "oxycodone", exact=True
    ).check()
    page.get_by_role("button", name="Check again with my choices").click()

    expect(verdict(page)).to_have_text("1 serious warning")
    expect(page.locator("article.card .card-title")).to_have_text(
        "Klonopin (clonazepam) and oxycodone"
    )
    expect(page.locator("section.not-checked")).to_have_count(0)


def test_the_language_switch_works_without_javascript_and_is_remembered(
    page_without_js: Any, live_server: str
) -> None:
    page = page_without_js
    page.goto(live_server)
    assert page.get_attribute("html", "lang") == "en"
    page.get_by_role("link", name="Español").click()
    assert page.get_attribute("html", "lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_have_text("Revise sus medicamentos")

    page.goto(live_server)  # no parameter now: the cookie remembers the choice
    assert page.get_attribute("html", "lang") == "es"
    fill(page, "es", ("clonazepam", "oxycodone"))
    expect(verdict(page)).to_have_text("1 advertencia grave")

    # On a result, the switch sends the list again: the same answer, now in English.
    page.get_by_role("button", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    expect(verdict(page)).to_have_text("1 serious warning")


def test_a_spanish_browser_gets_spanish_pages(browser: Any, live_server: str) -> None:
    for page in _page(browser, locale="es-US", extra_http_headers={"Accept-Language": "es-US,es"}):
        page.goto(live_server)
        assert page.get_attribute("html", "lang") == "es"
        expect(page.get_by_role("link", name="English")).to_be_visible()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_wallet_card_prints_on_one_page(
    page: Any, live_server: str, artifacts: Path, language: str
) -> None:
    open_result(page, live_server, language)
    page.get_by_role("button", name=WORDS[language]["card"]).click()
    card = page.locator("article.wallet-card")
    expect(card.get_by_role("heading", level=1)).to_have_text(WORDS[language]["card_heading"])
    expect(card.locator(".card-medicines li")).to_have_count(5)  # four typed, and alcohol
    expect(card.locator(".card-warnings li")).to_have_count(7)
    expect(card.get_by_role("heading", name=WORDS[language]["call_911"])).to_be_visible()

    page.emulate_media(media="print")
    expect(page.locator(".actions")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    for line in card.locator(".card-warnings li").all():
        box = line.bounding_box()
        assert box is not None and box["height"] < 40, "a warning takes more than one line"
    pdf = artifacts / f"wallet-card-{language}.pdf"
    page.pdf(path=str(pdf), format="Letter")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    assert pages == 1, f"the card prints on {pages} pages"
    shot = artifacts / f"patient-wallet-card-{language}.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS / shot.name)


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_axe_scan_finds_no_problems_in_either_language(
    axe_page: Any, live_server: str, artifacts: Path, language: str
) -> None:
    page = axe_page
    found: dict[str, dict[str, Any]] = {}
    page.goto(f"{live_server}/?lang={language}")
    found["form"] = _axe_scan(page, f"form-{language}", artifacts)
    fill(page, language, FRIGHTENING_LIST, alcohol=True)
    expect(verdict(page)).to_have_text(WORDS[language]["verdict"])
    found["result"] = _axe_scan(page, f"result-{language}", artifacts)
    page.get_by_role("button", name=WORDS[language]["card"]).click()
    found["card"] = _axe_scan(page, f"card-{language}", artifacts)
    violations = {name: scan["violations"] for name, scan in found.items() if scan["violations"]}
    assert violations == {}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_result_screenshots_for_the_docs(
    browser: Any, live_server: str, artifacts: Path, language: str, device: str
) -> None:
    """Saved under artifacts/ always; copied to docs/ when UPDATE_SCREENSHOTS=1."""
    options: dict[str, Any] = (
        {"viewport": PHONE, "is_mobile": True, "device_scale_factor": 2}
        if device == "phone"
        else {"viewport": DESKTOP, "device_scale_factor": 1}
    )
    for page in _page(browser, **options):
        open_result(page, live_server, language)
        page.evaluate("() => document.activeElement.blur()")  # no focus ring in the picture
        shot = artifacts / f"patient-result-{device}-{language}.png"
        page.screenshot(path=str(shot), full_page=device == "desktop")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS / shot.name)
