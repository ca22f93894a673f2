"""The patients' pages in real headless Chromium: as a person with a mouse, with the keyboard only,
without JavaScript, on a 360 px phone, and under an axe-core accessibility scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..browser_support import AXE_JS

KLONOPIN = "Klonopin (clonazepam)"  # as suggestions label it: "Brand (generic)"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def medicine(page: Any, number: int) -> Any:
    return page.get_by_label(f"Medicine {number}", exact=True)


def check_button(page: Any) -> Any:
    return page.get_by_role("button", name="Check my medicines")


def verdict(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def enter(page: Any, *names: str, alcohol: bool = False, age: str = "") -> None:
    """Fill the form as a person would, using "Add another medicine" for each further name."""
    for number, name in enumerate(names, start=1):
        if number > 1:
            page.get_by_role("button", name="Add another medicine").click()
        medicine(page, number).fill(name)
        # Leave the field as a person would: its suggestions close and cannot cover the next button.
        medicine(page, number).press("Tab")
    if alcohol:
        page.get_by_label("I drink alcohol").check()
    if age:
        page.get_by_label("Your age").fill(age)


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_two_medicines_chosen_from_the_suggestions_raise_a_serious_warning(
    page: Any, live_server: str, artifacts: Path
) -> None:
    page.goto(live_server)
    page.screenshot(path=str(artifacts / "form.png"), full_page=True)

    first = medicine(page, 1)
    first.press_sequentially("klon", delay=40)
    page.get_by_role("option", name="Klonopin (clonazepam)", exact=True).click()
    expect(first).to_have_value("Klonopin (clonazepam)")

    page.get_by_role("button", name="Add another medicine").click()
    second = medicine(page, 2)
    expect(second).to_be_focused()
    second.press_sequentially("perc", delay=40)
    page.get_by_role("option", name="Percocet (acetaminophen / oxycodone)", exact=True).click()
    expect(second).to_have_value("Percocet (acetaminophen / oxycodone)")

    check_button(page).click()
    expect(verdict(page)).to_have_text("1 serious warning")
    expect(verdict(page)).to_be_focused()  # announced: focus moves to the answer
    card = page.locator("article.card")
    expect(card).to_have_count(1)
    expect(card.locator(".badge")).to_have_text("Serious")
    expect(card.locator(".card-title")).to_have_text(
        f"{KLONOPIN} and Percocet (acetaminophen / oxycodone)"
    )
    expect(card).to_contain_text("You could breathe too slowly or not wake up")
    expect(card.get_by_text("Sources for this warning")).to_be_visible()
    expect(page.get_by_role("heading", name="Call 911 right away if someone:")).to_be_visible()
    expect(page.get_by_text("Do not stop any medicine on your own.")).to_be_visible()
    page.screenshot(path=str(artifacts / "result.png"), full_page=True)


def test_without_javascript_add_another_and_enter_still_check_the_list(
    page_without_js: Any, live_server: str, artifacts: Path
) -> None:
    page = page_without_js
    page.goto(live_server)
    medicine(page, 1).fill("clonazepam")
    page.get_by_role("button", name="Add another medicine").click()  # a real form post

    expect(medicine(page, 1)).to_have_value("clonazepam")
    expect(medicine(page, 2)).to_be_focused()  # autofocus, no script needed
    medicine(page, 2).fill("oxycodone")
    medicine(page, 2).press("Enter")  # Enter checks; it does not add yet another field

    expect(verdict(page)).to_have_text("1 serious warning")
    expect(page.locator("article.card .card-title")).to_have_text("clonazepam and oxycodone")
    page.screenshot(path=str(artifacts / "result-no-js.png"), full_page=True)

    expect(page.get_by_role("button", name="Print this page")).to_have_count(0)  # needs JS
    page.get_by_role("button", name="Change my list and check again").click()
    expect(medicine(page, 1)).to_have_value("clonazepam")
    expect(medicine(page, 2)).to_have_value("oxycodone")


def test_a_typo_is_not_checked_and_its_did_you_mean_runs_the_check_again(
    page: Any, live_server: str, artifacts: Path
) -> None:
    page.goto(live_server)
    enter(page, "klonopinn", "oxycodone")
    check_button(page).click()

    expect(verdict(page)).to_have_text("1 medicine not checked; no warnings for the others")
    not_checked = page.locator("section.not-checked")
    expect(not_checked.get_by_role("heading")).to_have_text("Medicines we could not check")
    expect(not_checked).to_contain_text("klonopinn")
    expect(page.get_by_text("No warnings found")).to_have_count(0)

    page.get_by_label(KLONOPIN, exact=True).check()
    page.get_by_role("button", name="Check again with my choices").click()
    expect(verdict(page)).to_have_text("1 serious warning")
    expect(page.locator("article.card .card-title")).to_have_text(f"{KLONOPIN} and oxycodone")
    expect(page.locator("section.not-checked")).to_have_count(0)


def test_the_alcohol_box_adds_alcohol_to_the_check(page: Any, live_server: str) -> None:
    page.goto(live_server)
    enter(page, "clonazepam", alcohol=True)
    check_button(page).click()

    expect(verdict(page)).to_have_text("1 serious warning")
    card = page.locator("article.card")
    expect(card.locator(".card-title")).to_have_text("clonazepam and alcohol")
    expect(card).to_contain_text("Do not drink alcohol while you take this medicine")


def test_the_form_can_be_used_with_the_keyboard_alone(page: Any, live_server: str) -> None:
    page.goto(live_server)
    keyboard = page.keyboard

    # Focus order: skip link, site name, the language switch, the first medicine.
    keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    keyboard.press("Tab")
    expect(page.get_by_role("link", name="Medicine check")).to_be_focused()
    keyboard.press("Tab")
    expect(page.get_by_role("link", name="Español")).to_be_focused()
    keyboard.press("Tab")
    expect(medicine(page, 1)).to_be_focused()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field shows no focus ring"

    # Autocomplete by keyboard: type, arrow down, Enter chooses (and does not submit).
    keyboard.type("klon", delay=40)
    expect(page.get_by_role("option", name="Klonopin (clonazepam)", exact=True)).to_be_visible()
    keyboard.press("ArrowDown")
    keyboard.press("Enter")
    expect(medicine(page, 1)).to_have_value("Klonopin (clonazepam)")
    expect(page.get_by_role("listbox")).to_be_hidden()

    keyboard.press("Tab")
    add = page.get_by_role("button", name="Add another medicine")
    expect(add).to_be_focused()
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none", "the focused button shows no focus ring"
    keyboard.press("Enter")
    expect(medicine(page, 2)).to_be_focused()
    keyboard.type("oxycodone", delay=20)
    keyboard.press("Escape")

    keyboard.press("Tab")
    expect(add).to_be_focused()
    keyboard.press("Tab")
    expect(page.get_by_label("I drink alcohol")).to_be_focused()
    keyboard.press("Space")
    expect(page.get_by_label("I drink alcohol")).to_be_checked()
    keyboard.press("Tab")
    expect(page.get_by_label("Your age")).to_be_focused()
    keyboard.type("70")
    keyboard.press("Tab")
    expect(check_button(page)).to_be_focused()
    keyboard.press("Enter")

    expect(verdict(page)).to_contain_text("serious warnings")
    expect(verdict(page)).to_be_focused()
    titles = page.locator("article.card .card-title").all_text_contents()
    assert f"{KLONOPIN} and oxycodone" in titles and f"{KLONOPIN} and alcohol" in titles


def test_the_printed_result_keeps_the_answer_and_drops_the_controls(
    page: Any, live_server: str, artifacts: Path
) -> None:
    page.goto(live_server)
    enter(page, "Klonopin", "Percocet", "klonopinn")
    check_button(page).click()
    expect(page.get_by_role("button", name="Print this page")).to_be_visible()
    page.emulate_media(media="print")
    expect(verdict(page)).to_be_visible()
    expect(page.locator("article.card")).to_be_visible()
    expect(page.locator("section.emergency")).to_be_visible()
    expect(page.get_by_role("group", name="You typed klonopinn. Did you mean:")).to_be_visible()
    expect(page.locator(".actions")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    page.screenshot(path=str(artifacts / "result-print.png"), full_page=True)


def test_the_pages_fit_a_360_pixel_phone(
    phone_page: Any, live_server: str, artifacts: Path
) -> None:
    page = phone_page
    page.goto(live_server)
    assert no_horizontal_scroll(page), "the form scrolls sideways at 360 px"
    enter(page, "Klonopin", "Percocet", "x" * 200)
    check_button(page).click()
    expect(verdict(page)).to_have_text("1 serious warning; 1 medicine not checked")
    assert no_horizontal_scroll(page), "the result scrolls sideways at 360 px"
    page.screenshot(path=str(artifacts / "result-360px.png"), full_page=True)


def _axe_scan(page: Any, name: str, artifacts: Path) -> dict[str, Any]:
    """Inject axe-core, run every rule, save the report; violations grouped by impact, the checks
    axe could not decide alone ("needs review"), and how many rules passed."""
    page.add_script_tag(path=str(AXE_JS))
    report = page.evaluate("async () => await axe.run(document)")
    (artifacts / f"axe-{name}.json").write_text(
        json.dumps({k: report[k] for k in ("violations", "incomplete")}, indent=2)
    )
    violations: dict[str, list[str]] = {}
    for violation in report["violations"]:
        violations.setdefault(violation["impact"] or "unknown", []).append(
            f"{violation['id']} ({len(violation['nodes'])} nodes): {violation['help']}"
        )
    return {
        "violations": violations,
        "needs_review": [item["id"] for item in report["incomplete"]],
        "passed_rules": len(report["passes"]),
    }


def test_an_axe_scan_finds_no_serious_or_critical_problems(
    axe_page: Any, live_server: str, artifacts: Path
) -> None:
    page = axe_page
    found: dict[str, dict[str, Any]] = {}

    page.goto(live_server)
    found["form"] = _axe_scan(page, "form", artifacts)

    check_button(page).click()  # nothing entered: the form comes back with an error summary
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    found["form-with-errors"] = _axe_scan(page, "form-with-errors", artifacts)
    page.screenshot(path=str(artifacts / "form-with-errors.png"), full_page=True)

    page.goto(live_server)
    enter(page, "Klonopin", "Percocet", "zolpidm", "amoxicillin", alcohol=True)
    check_button(page).click()
    expect(verdict(page)).to_contain_text("serious warnings")
    found["result"] = _axe_scan(page, "result", artifacts)

    page.goto(f"{live_server}/no-such-page")
    expect(verdict(page)).to_have_text("Page not found")
    found["not-found"] = _axe_scan(page, "not-found", artifacts)
    page.screenshot(path=str(artifacts / "not-found.png"), full_page=True)

    summary = json.dumps(found, indent=2)
    (artifacts / "axe-summary.json").write_text(summary)
    print(f"axe-core violations by page and impact:\n{summary}")
    blocking = [
        f"{page_name}: {impact}: {items}"
        for page_name, scan in found.items()
        for impact, items in scan["violations"].items()
        if impact in ("serious", "critical")
    ]
    assert blocking == [], summary
