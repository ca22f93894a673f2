"""The loader refuses a bad knowledge base with problems naming file and line, before writing anything."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from service.kb.loader import KbValidationError, read_knowledge_base

from ..conftest import SEED_DIR
from ..strategies import seed_knowledge


@pytest.fixture()
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(SEED_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` and return its 1-based line number."""
    text = path.read_text()
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :])
    return text[:index].count("\n") + 1


def _line_of_rule(path: Path, rule_id: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip() == f"- id: {rule_id}")


def _problems(kb_dir: Path) -> list[str]:
    with pytest.raises(KbValidationError) as caught:
        read_knowledge_base(kb_dir)
    return caught.value.problems


def test_the_seed_knowledge_base_is_valid_and_its_id_is_its_content_hash() -> None:
    knowledge = read_knowledge_base(SEED_DIR)
    assert re.fullmatch(r"[0-9a-f]{64}", knowledge.content_hash())
    assert read_knowledge_base(SEED_DIR).content_hash() == knowledge.content_hash()


def test_an_unknown_drug_in_a_class_names_the_file_and_line(kb_dir: Path) -> None:
    classes = kb_dir / "classes" / "01-cns-depressants.yaml"
    line = _line_of_rule(classes, "z_drugs")
    classes.write_text(
        classes.read_text().replace("S8: [eszopiclone", "S8: [nosuchdrug, eszopiclone", 1)
    )
    assert any(
        p.startswith(f"classes/01-cns-depressants.yaml:{line}:") and "nosuchdrug" in p
        for p in _problems(kb_dir)
    )


def test_an_unknown_class_in_a_rule_is_refused(kb_dir: Path) -> None:
    rules = kb_dir / "rules" / "01-cns-depression.yaml"
    line = _line_of_rule(rules, "R1")
    _edit(rules, "- [class:opioids]", "- [class:opiates]")
    assert any(
        p.startswith(f"rules/01-cns-depression.yaml:{line}:") and "opiates" in p
        for p in _problems(kb_dir)
    )


def test_a_rule_without_a_source_is_refused(kb_dir: Path) -> None:
    rules = kb_dir / "rules" / "01-cns-depression.yaml"
    line = _line_of_rule(rules, "R4")
    text = rules.read_text()
    start = text.index("- id: R4")
    end = text.index("\n- id:", start)
    block = re.sub(r"\n  sources: \[[^\]]*\]", "\n  sources: []", text[start:end])
    rules.write_text(text[:start] + block + text[end:])
    assert any(
        p.startswith(f"rules/01-cns-depression.yaml:{line}:") and "no source" in p
        for p in _problems(kb_dir)
    )


def test_an_unknown_severity_is_refused(kb_dir: Path) -> None:
    rules = kb_dir / "rules" / "01-cns-depression.yaml"
    line = _line_of_rule(rules, "R1")
    _edit(rules, "severity: major", "severity: severe")
    assert any(
        p.startswith(f"rules/01-cns-depression.yaml:{line}:") and "severe" in p
        for p in _problems(kb_dir)
    )


def test_a_name_that_means_two_things_is_refused(kb_dir: Path) -> None:
    names = kb_dir / "names.csv"
    with names.open("a") as handle:
        handle.write("KLONOPIN,alprazolam,brand,\n")
    line = len(names.read_text().splitlines())
    problems = _problems(kb_dir)
    # The problem names both places, whichever of the two was read first.
    assert any(f"names.csv:{line}" in p and "klonopin" in p.lower() for p in problems), problems


def test_an_unknown_ingredient_in_a_product_is_refused(kb_dir: Path) -> None:
    names = kb_dir / "names.csv"
    with names.open("a") as handle:
        handle.write("Fakeocet,oxycodone;unobtainium,brand,\n")
    line = len(names.read_text().splitlines())
    assert any(p.startswith(f"names.csv:{line}:") and "unobtainium" in p for p in _problems(kb_dir))


def test_every_problem_is_reported_at_once(kb_dir: Path) -> None:
    _edit(kb_dir / "rules" / "01-cns-depression.yaml", "severity: major", "severity: severe")
    with (kb_dir / "names.csv").open("a") as handle:
        handle.write("Fakeocet,unobtainium,brand,\n")
    assert len(_problems(kb_dir)) >= 2


def test_a_missing_file_is_a_clear_error(kb_dir: Path) -> None:
    (kb_dir / "routes.yaml").unlink()
    assert "routes.yaml" in _problems(kb_dir)[0]


RULES_V1 = Path("rules") / "01-cns-depression.yaml"


def _rule_block(path: Path, rule_id: str) -> tuple[str, int, int]:
    text = path.read_text()
    start = text.index(f"- id: {rule_id}\n")
    return text, start, text.index("\n- id:", start)


def test_a_rule_citing_only_secondary_sources_is_refused(kb_dir: Path) -> None:
    rules = kb_dir / RULES_V1
    line = _line_of_rule(rules, "R4")
    text, start, end = _rule_block(rules, "R4")
    block = re.sub(r"\n  sources: \[[^\]]*\]", "\n  sources: [S2]", text[start:end])
    rules.write_text(text[:start] + block + text[end:])
    assert any(
        p.startswith(f"{RULES_V1}:{line}:") and "no primary source" in p for p in _problems(kb_dir)
    )


def test_an_unconfirmed_rule_must_say_what_is_unconfirmed(kb_dir: Path) -> None:
    rules = kb_dir / RULES_V1
    line = _line_of_rule(rules, "R4")
    text, start, end = _rule_block(rules, "R4")
    block = re.sub(r"\n  notes: >-\n(    .*\n)+", "\n", text[start:end] + "\n").rstrip("\n")
    rules.write_text(text[:start] + block + "\n  unconfirmed: true" + text[end:])
    assert any(
        p.startswith(f"{RULES_V1}:{line}:") and "unconfirmed" in p for p in _problems(kb_dir)
    )


def test_a_side_can_declare_exceptions_and_they_are_checked(kb_dir: Path) -> None:
    rules = kb_dir / RULES_V1
    _edit(
        rules,
        "    - [class:opioids]\n    - [class:benzodiazepines]",
        "    - [class:opioids]\n    - any_of: [class:benzodiazepines]\n      except: [drug:nosuchdrug]",
    )
    assert any("unknown drug 'nosuchdrug'" in p for p in _problems(kb_dir))


def test_a_helper_class_cannot_make_a_drug_a_cns_depressant(kb_dir: Path) -> None:
    classes = kb_dir / "classes" / "01-cns-depressants.yaml"
    line = _line_of_rule(classes, "cns_depressants")
    _edit(
        classes,
        "union_of: [benzodiazepines,",
        "union_of: [strong_cyp3a_inhibitors, benzodiazepines,",
    )
    assert any(
        p.startswith(f"classes/01-cns-depressants.yaml:{line}:") and "helper class" in p
        for p in _problems(kb_dir)
    )


def test_an_unknown_route_is_refused(kb_dir: Path) -> None:
    names = kb_dir / "names.csv"
    with names.open("a") as handle:
        handle.write("Fakeocet skin,oxycodone,brand,skin,\n")
    line = len(names.read_text().splitlines())
    assert any(p.startswith(f"names.csv:{line}:") and "route" in p for p in _problems(kb_dir))


def test_never_alert_names_known_ingredients(kb_dir: Path) -> None:
    _edit(kb_dir / "kb.yaml", "never_alert: [naloxone", "never_alert: [naloxon")
    assert any("never_alert" in p and "naloxon'" in p for p in _problems(kb_dir))


def test_a_naloxone_product_needs_the_words_of_its_suggestion(kb_dir: Path) -> None:
    _edit(kb_dir / "kb.yaml", "naloxone_offer:", "naloxone_wording:")
    assert any("naloxone_rxcui needs naloxone_offer" in p for p in _problems(kb_dir))


def test_the_naloxone_suggestion_needs_all_three_texts(kb_dir: Path) -> None:
    _edit(kb_dir / "kb.yaml", "  order: Add a draft order", "  orders: Add a draft order")
    assert any("naloxone_offer must be a mapping" in p for p in _problems(kb_dir))


def test_the_naloxone_suggestion_is_read_from_kb_yaml_on_one_line_each(kb_dir: Path) -> None:
    offer = read_knowledge_base(kb_dir).naloxone_offer
    assert offer is not None
    assert offer.order == "Add a draft order for naloxone nasal spray."
    assert (
        offer.dosing.startswith("For suspected opioid overdose: 1 spray")
        and "\n" not in offer.dosing
    )


def test_an_ingredient_without_an_rxcui_is_refused_unless_it_says_why(kb_dir: Path) -> None:
    ingredients = kb_dir / "ingredients.csv"
    line = _edit(ingredients, "alprazolam,596,,", "alprazolam,,,")
    assert any(
        p.startswith(f"ingredients.csv:{line}:") and "alprazolam" in p and "no_rxcui_reason" in p
        for p in _problems(kb_dir)
    )
    _edit(ingredients, "alprazolam,,,", "alprazolam,,not in RxNorm (test),")
    read_knowledge_base(kb_dir)


def test_an_ingredient_rxcui_that_rxnorm_gives_another_concept_is_refused(kb_dir: Path) -> None:
    line = _edit(kb_dir / "ingredients.csv", "alprazolam,596,", "alprazolam,2598,")
    problems = _problems(kb_dir)
    assert any(
        p.startswith(f"ingredients.csv:{line}:") and "'clonazepam' in the RxNorm vocabulary" in p
        for p in problems
    )


def test_a_malformed_vocabulary_row_is_refused_naming_its_line(kb_dir: Path) -> None:
    import gzip

    path = kb_dir / "rxnorm" / "rxnorm-2025-10.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[5] = lines[5].split(",")[0] + ",a name,XYZ,44,"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert any(p.startswith("rxnorm/rxnorm-2025-10.csv.gz:6:") for p in _problems(kb_dir))


def test_the_alcohol_class_must_be_a_class_of_the_knowledge_base(kb_dir: Path) -> None:
    _edit(kb_dir / "kb.yaml", "alcohol_class: alcohol", "alcohol_class: alcool")
    assert any("alcohol_class" in p and "alcool'" in p for p in _problems(kb_dir))


def test_the_alcohol_class_is_read_from_kb_yaml(kb_dir: Path) -> None:
    assert read_knowledge_base(kb_dir).alcohol_class == "alcohol"
    _edit(kb_dir / "kb.yaml", "alcohol_class: alcohol", "")
    assert read_knowledge_base(kb_dir).alcohol_class is None


def _drop_field(path: Path, rule_id: str, field: str) -> int:
    """Remove ``field`` (a folded block) from ``rule_id``; returns the rule's line."""
    line = _line_of_rule(path, rule_id)
    text, start, end = _rule_block(path, rule_id)
    block = re.sub(rf"\n  {field}: >-\n(    .*\n?)+", "\n", text[start:end] + "\n").rstrip("\n")
    path.write_text(text[:start] + block + text[end:])
    return line


def test_every_seed_rule_has_its_patient_texts_in_spanish() -> None:
    for rule in seed_knowledge().rules:
        spanish = rule.patient_texts("es")
        assert spanish is not None and spanish[0], rule.id
        assert bool(spanish[1]) == bool(rule.always_tell_patient), rule.id
        title = rule.patient_title("es")
        assert title and title != rule.title, rule.id


def test_a_rule_whose_title_has_no_spanish_version_is_refused(kb_dir: Path) -> None:
    line = _line_of_rule(kb_dir / RULES_V1, "R4")
    _edit(kb_dir / RULES_V1, "  title_es: Benzodiazepina con alcohol\n", "")
    assert any(p.startswith(f"{RULES_V1}:{line}:") and "title_es" in p for p in _problems(kb_dir))


def test_a_rule_whose_patient_text_has_no_spanish_version_is_refused(kb_dir: Path) -> None:
    line = _drop_field(kb_dir / RULES_V1, "R4", "patient_text_es")
    assert any(
        p.startswith(f"{RULES_V1}:{line}:") and "patient_text_es" in p for p in _problems(kb_dir)
    )


def test_a_mandatory_patient_sentence_needs_its_spanish_version(kb_dir: Path) -> None:
    line = _drop_field(kb_dir / RULES_V1, "R4", "always_tell_patient_es")
    assert any(
        p.startswith(f"{RULES_V1}:{line}:") and "always_tell_patient_es" in p
        for p in _problems(kb_dir)
    )


def test_a_spanish_mandatory_sentence_without_an_english_one_is_refused(kb_dir: Path) -> None:
    line = _drop_field(kb_dir / RULES_V1, "R4", "always_tell_patient")
    assert any(
        p.startswith(f"{RULES_V1}:{line}:") and "always_tell_patient_es" in p
        for p in _problems(kb_dir)
    )
