"""The patients' pages in English and Spanish: chosen by the browser, by the switch, remembered by a
cookie; and catalogues that are complete and compiled."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from .helpers import csrf_token, post_form, text

ROOT = Path(__file__).resolve().parents[2]
SPANISH = ROOT / "service" / "translations" / "es" / "LC_MESSAGES"
HTML_LANG = re.compile(r'<html lang="(\w+)">')
H1 = re.compile(r"<h1[^>]*>([^<]*)</h1>")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def language_of(page: str) -> str:
    match = HTML_LANG.search(page)
    assert match, "the page has no <html lang>"
    return match.group(1)


def heading(page: str) -> str:
    match = H1.search(page)
    assert match, "the page has no h1"
    return match.group(1).strip()


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("es-US,es;q=0.9,en;q=0.8", "es"),
        ("es-MX", "es"),
        ("en-US,en;q=0.9,es;q=0.5", "en"),
        ("fr-FR", "en"),  # neither: English
        ("", "en"),
    ],
)
def test_the_browser_language_chooses_the_page_language(
    anonymous: FlaskClient, accept_language: str, expected: str
) -> None:
    response = anonymous.get("/", headers={"Accept-Language": accept_language})
    assert language_of(text(response)) == expected
    assert "Accept-Language" in response.headers["Vary"]


def test_a_spanish_page_is_in_spanish_and_offers_english(anonymous: FlaskClient) -> None:
    page = text(anonymous.get("/", headers={"Accept-Language": "es"}))
    assert heading(page) == "Revise sus medicamentos"
    assert '<label for="medicine-1">Medicamento 1</label>' in page
    assert 'href="/?lang=en" lang="en"' in page and ">English</a>" in page


def test_the_switch_sets_a_cookie_that_outranks_the_browser(anonymous: FlaskClient) -> None:
    response = anonymous.get("/?lang=es", headers={"Accept-Language": "en"})
    assert language_of(text(response)) == "es"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie

    later = anonymous.get("/", headers={"Accept-Language": "en"})
    assert language_of(text(later)) == "es"
    assert "Set-Cookie" not in later.headers or "lang=" not in later.headers["Set-Cookie"]


def test_an_unknown_language_is_ignored(anonymous: FlaskClient) -> None:
    response = anonymous.get("/?lang=xx", headers={"Accept-Language": "en"})
    assert language_of(text(response)) == "en"
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_a_spanish_result_counts_and_words_in_spanish(anonymous: FlaskClient) -> None:
    anonymous.get("/?lang=es")
    page = text(post_form(anonymous, ["clonazepam", "oxycodone", "zolpidm"], alcohol=True))
    assert language_of(page) == "es"
    assert heading(page).startswith("4 advertencias graves")
    assert heading(page).endswith("; 1 medicamento sin revisar")
    assert "Llame al 911 de inmediato si alguien:" in page
    assert "clonazepam y alcohol" in page  # the alcohol box is named in Spanish too


def test_a_spanish_result_gives_the_rules_own_patient_texts_in_spanish(
    anonymous: FlaskClient,
) -> None:
    english = text(post_form(anonymous, ["clonazepam", "oxycodone"]))
    anonymous.get("/?lang=es")
    spanish = text(post_form(anonymous, ["clonazepam", "oxycodone"]))
    assert "Podría respirar demasiado lento o no despertar" in spanish  # R1's Spanish wording
    assert "Podría respirar" not in english
    assert "can cause death" in english and "can cause death" not in spanish


def test_a_spanish_result_titles_each_warning_and_the_other_rules_in_spanish(
    anonymous: FlaskClient,
) -> None:
    english = text(post_form(anonymous, ["clonazepam", "phenobarbital"]))
    anonymous.get("/?lang=es")
    spanish = text(post_form(anonymous, ["clonazepam", "phenobarbital"]))
    assert "R10: Barbitúrico con un opioide o una benzodiazepina." in spanish
    # R14 and R11 match too: listed under "Otras advertencias", in Spanish as well.
    assert "<li>Clonazepam con un medicamento para las convulsiones que lo hace más débil</li>" in (
        spanish
    )
    assert "<li>Benzodiazepina con otro medicamento que da sueño</li>" in spanish
    assert "R10: Barbiturate with an opioid or a benzodiazepine." in english
    assert "<li>Benzodiazepine with another CNS depressant</li>" in english
    assert "Barbiturate with" not in spanish and "Barbitúrico" not in english


def test_a_spanish_wallet_card_names_each_warning_in_spanish(anonymous: FlaskClient) -> None:
    anonymous.get("/?lang=es")
    form = {"medicine": ["clonazepam", "oxycodone"], "csrf_token": csrf_token(anonymous)}
    card = text(anonymous.post("/card", data=form))
    assert "Opioide con una benzodiazepina (R1)" in card
    assert "Opioid with a benzodiazepine" not in card


def test_the_switch_on_a_result_posts_the_list_to_check_it_in_the_other_language(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["clonazepam", "oxycodone"]))
    switch = page.split('<nav class="language-switch"')[1].split("</nav>")[0]
    assert 'action="/?lang=es"' in switch
    assert 'name="medicine" value="clonazepam"' in switch
    assert 'value="check"' in switch and ">Español</button>" in switch


def test_every_page_text_has_a_spanish_translation() -> None:
    method_map = [
        ("service/web/**.py", "python"),
        ("service/templates/web/**.html", "jinja2"),
    ]
    options = {"service/templates/web/**.html": {"extensions": "jinja2.ext.do", "trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    extracted = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(ROOT), method_map, options, keywords=keywords)
    }
    with (SPANISH / "messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert extracted, "no texts found to translate"
    assert sorted(extracted - translated.keys()) == [], (
        "texts without Spanish: run make translations"
    )
    for msgid in extracted:
        message = translated[msgid]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"untranslated or fuzzy: {msgid}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        assert all(
            sorted(PLACEHOLDER.findall(str(s))) == sorted(PLACEHOLDER.findall(str(ids[0])))
            for s in strings
        ), f"placeholders differ: {msgid}"


def test_the_committed_spanish_catalogue_is_compiled_from_the_po() -> None:
    with (SPANISH / "messages.po").open("rb") as po:
        catalog = read_po(po)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    assert (SPANISH / "messages.mo").read_bytes() == compiled.getvalue(), (
        "messages.mo is out of date: run make translations"
    )


def test_the_friendly_error_pages_speak_spanish_too(anonymous: FlaskClient) -> None:
    response = anonymous.get("/no-such-page", headers={"Accept-Language": "es"})
    page = text(response)
    assert response.status_code == 404 and language_of(page) == "es"
    assert heading(page) == "No encontramos la página"
