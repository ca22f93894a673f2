"""The patients' pages through the Flask client: the form, the answer in words, and the no-JS paths."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import AlertLog

from .helpers import csrf_token, post_form, text

BADGE = re.compile(r'<span class="badge badge-(\w+)">')
TITLE = re.compile(r'<span class="card-title"[^>]*>([^<]*)</span>')
H1 = re.compile(r"<h1[^>]*>([^<]*)</h1>")


def warnings(page: str) -> str:
    """The alert cards' section only (the legend further down has badges too)."""
    return page.split('<section class="warnings"')[1].split("</section>")[0]


def verdict(page: str) -> str:
    match = H1.search(page)
    assert match, "the page has no h1"
    return match.group(1).strip()


def last_logged(session: Session) -> AlertLog:
    row = session.scalars(select(AlertLog).order_by(AlertLog.created_at.desc()).limit(1)).first()
    assert row is not None, "no check was logged"
    return row


def test_the_form_has_a_labelled_field_per_medicine_and_an_add_another_button(
    anonymous: FlaskClient,
) -> None:
    page = text(anonymous.get("/"))
    assert '<label for="medicine-1">Medicine 1</label>' in page
    assert 'id="medicine-1" name="medicine"' in page
    assert 'name="action" value="add"' in page and "Add another medicine" in page
    assert '<label for="alcohol">I drink alcohol' in page
    assert '<label for="age">Your age' in page
    assert 'name="csrf_token"' in page


def test_without_javascript_add_another_keeps_the_list_and_adds_an_empty_field(
    anonymous: FlaskClient, session: Session
) -> None:
    before = session.query(AlertLog).count()
    response = post_form(anonymous, ["clonazepam", ""], alcohol=True, age="70", action="add")
    page = text(response)
    assert response.status_code == 200
    assert 'id="medicine-1" name="medicine"\n                   value="clonazepam"' in page
    assert re.search(r'id="medicine-2" name="medicine"\s+value=""', page)
    assert 'id="medicine-3"' not in page  # the blank was dropped, one new field added
    assert re.search(r'id="medicine-2"[^>]*autofocus', page), "focus goes to the new field"
    assert 'name="alcohol" value="yes" checked' in page and 'value="70"' in page
    assert session.query(AlertLog).count() == before, "adding a field checks nothing"


def test_at_thirty_fields_there_is_no_add_another_but_a_word_about_the_limit(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, [f"medicine {n}" for n in range(30)], action="add"))
    assert 'id="medicine-30"' in page and 'id="medicine-31"' not in page
    assert 'value="add"' not in page
    assert re.search(r'id="max-reached"\s*>You can check up to\s+30 medicines', page)


def test_a_benzodiazepine_with_an_opioid_gives_one_serious_warning_in_their_own_words(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["Klonopin 2 mg tablet", "PERCOCET 5/325"]))
    assert verdict(page) == "1 serious warning"
    assert "<title>1 serious warning — Medicine check</title>" in page
    assert BADGE.findall(warnings(page)) == ["major"]
    assert ">Serious</span>" in page  # a word, not only a colour
    assert TITLE.findall(page) == ["Klonopin 2 mg tablet and PERCOCET 5/325"]
    assert "You could breathe too slowly or not wake up" in page  # the KB's patient wording
    assert "Ask about naloxone" in page
    assert re.search(r'<a href="https://[^"]+" rel="noopener noreferrer">', page), "a source"
    assert "What to do now" in page and "Call 911" in page
    assert "Do not stop any medicine on your own." in page
    assert "What this check covers" in page


def test_alerts_are_shown_most_severe_first_and_counted_in_the_verdict(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["zolpidem", "oxybate", "clonazepam"], alcohol=True))
    cards = warnings(page)
    ranks = {"contraindicated": 4, "major": 3, "moderate": 2, "minor": 1}
    severities = [ranks[s] for s in BADGE.findall(cards)]
    assert severities == sorted(severities, reverse=True) and severities[0] == 4
    assert verdict(page).startswith("2 dangerous combinations, ")
    assert " and " in verdict(page) and "moderate warning" in verdict(page)


def test_an_unrecognised_medicine_is_never_a_blank_no_problems(anonymous: FlaskClient) -> None:
    page = text(post_form(anonymous, ["klonopinn", "oxycodone"]))
    assert verdict(page) == "1 medicine not checked; no warnings for the others"
    assert "No warnings found" not in page
    assert "Medicines we could not check" in page and "klonopinn" in page
    assert 'name="correct-0" value="Klonopin (clonazepam)"' in page


def test_a_warning_and_an_unrecognised_medicine_are_both_in_the_verdict(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["clonazepam", "oxycodone", "zolpidm"]))
    assert verdict(page).startswith("1 serious warning")
    assert verdict(page).endswith("; 1 medicine not checked")


def test_every_did_you_mean_choice_is_applied_in_one_check(
    anonymous: FlaskClient, session: Session
) -> None:
    before = session.query(AlertLog).count()
    response = post_form(
        anonymous,
        ["klonopinn", "amoxicillin", "oxycodne"],
        fields={"correct-0": "Klonopin", "correct-1": "", "correct-2": "oxycodone"},
    )
    page = text(response)
    assert response.status_code == 200
    assert verdict(page) == "1 serious warning"
    assert TITLE.findall(page) == ["Klonopin and oxycodone"]
    assert "Medicines we could not check" not in page
    assert last_logged(session).inputs["medications"] == ["Klonopin", "amoxicillin", "oxycodone"]
    assert session.query(AlertLog).count() == before + 1


def test_a_malformed_correction_is_ignored_not_guessed(anonymous: FlaskClient) -> None:
    page = text(
        post_form(
            anonymous, ["klonopinn"], fields={"correct-x": "oxycodone", "correct-9": "oxycodone"}
        )
    )
    assert verdict(page) == "We could not check your medicines"


def test_no_warnings_means_checked_and_says_what_was_not_covered(anonymous: FlaskClient) -> None:
    page = text(post_form(anonymous, ["clonazepam", "amoxicillin"]))
    assert verdict(page) == "No warnings found"
    assert "We found none of the problems this service looks for" in page
    assert "We checked all" not in page  # amoxicillin was not checked against clonazepam
    assert '<ul class="outside-scope">\n        <li translate="no">amoxicillin</li>' in page
    assert "It is not a full drug compendium" in page  # the KB's scope statement


def test_check_again_brings_back_the_form_with_the_list(anonymous: FlaskClient) -> None:
    page = text(
        post_form(anonymous, ["Klonopin", "Percocet"], alcohol=True, age="70", action="edit")
    )
    assert 'value="Klonopin"' in page and 'value="Percocet"' in page
    assert 'name="alcohol" value="yes" checked' in page and 'value="70"' in page
    assert "<h1>Check your medicines</h1>" in page


def test_the_alcohol_box_adds_alcohol_to_the_check(
    anonymous: FlaskClient, session: Session
) -> None:
    page = text(post_form(anonymous, ["clonazepam"], alcohol=True))
    assert TITLE.findall(page) == ["clonazepam and alcohol"]
    row = last_logged(session)
    assert row.inputs == {"medications": ["clonazepam"], "drinks_alcohol": True, "age": None}
    assert [m["input"] for m in row.medications] == ["clonazepam", "alcohol"]


def test_the_age_reaches_the_check(anonymous: FlaskClient, session: Session) -> None:
    medicines = ["clonazepam", "zolpidem", "quetiapine"]
    younger = BADGE.findall(warnings(text(post_form(anonymous, medicines))))
    older = BADGE.findall(warnings(text(post_form(anonymous, medicines, age="72"))))
    assert older.count("major") > younger.count("major")  # Beers: 65 and older
    assert last_logged(session).inputs["age"] == 72


def test_other_rules_that_apply_are_named_on_the_warning(anonymous: FlaskClient) -> None:
    page = text(post_form(anonymous, ["Klonopin", "phenobarbital"]))
    assert verdict(page) == "1 serious warning"
    assert "Other warnings about these medicines" in page


def test_medicines_the_rules_do_not_cover_are_never_called_checked(anonymous: FlaskClient) -> None:
    page = text(post_form(anonymous, ["amoxicillin", "lisinopril"]))
    assert verdict(page) == "This check does not cover your medicines"
    assert "No warnings found" not in page and "We found none" not in page


def test_the_opioid_combinations_come_first_in_their_severity_naloxone_ones_first_of_all(
    anonymous: FlaskClient,
) -> None:
    page = text(post_form(anonymous, ["zolpidem", "clonazepam", "oxycodone"], alcohol=True))
    titles = TITLE.findall(warnings(page))
    assert titles[:5] == [
        "clonazepam and oxycodone",  # R1: opioid with a benzodiazepine, naloxone suggested
        "oxycodone and alcohol",  # R5: opioid with alcohol
        "zolpidem and oxycodone",  # R12: opioid with another CNS depressant
        "clonazepam and alcohol",  # R4: benzodiazepine with alcohol
        "zolpidem, clonazepam, oxycodone and alcohol",  # C1: three or more CNS depressants
    ]
    assert "this can cause death" in warnings(page).split("</article>")[0]


def test_the_wallet_card_checks_the_list_again_and_logs_it(
    anonymous: FlaskClient, session: Session
) -> None:
    before = session.query(AlertLog).count()
    response = anonymous.post(
        "/card",
        data={
            "medicine": ["Klonopin", "oxycodone", "klonopinn"],
            "alcohol": "yes",
            "csrf_token": csrf_token(anonymous),
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert "<h1" in page and verdict(page) == "My medicine check"
    card_lines = re.findall(r"<li><span class=\"badge badge-(\w+)\">", page)
    assert card_lines[:2] == ["major", "major"]
    assert "klonopinn <strong>(not checked)</strong>" in page
    assert "Call 911 right away if someone:" in page
    assert session.query(AlertLog).count() == before + 1
    assert last_logged(session).inputs["medications"] == ["Klonopin", "oxycodone", "klonopinn"]


def test_the_wallet_card_needs_the_form_token_and_a_list(anonymous: FlaskClient) -> None:
    assert anonymous.post("/card", data={"medicine": ["clonazepam"]}).status_code == 400
    empty = anonymous.post("/card", data={"medicine": [""], "csrf_token": csrf_token(anonymous)})
    assert empty.status_code == 422 and "Enter at least one medicine." in text(empty)
