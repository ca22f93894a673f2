"""The worked cases of the clinical policy, version 2, as tables (docs/clinical-policy.md).

T01–T40 are the policy's own cases, adjusted to its Decisions (R12 major, Decision 5's "broad
MAOI label classes are major", Decision 7's tiers, naloxone never alerting). The second table adds
one case per rule family the forty leave uncovered, R93, the must-not-alert cases and the
precedence and duplication fixes.

Each case is a medication list as a user types it, and expectations on pairs of ingredients:

* ``at_least(S, a, b)`` — an interaction (``DD``) alert for the pair, of severity S or higher;
* ``exactly(S, a, b)`` — the same, of severity S exactly (checks a tier or an exception);
* ``no_alert(a, b)`` — no interaction alert for the pair (other pairs may alert);
* ``nothing_involving(x)`` — no alert of any kind names ingredient x;

optionally with the deciding rule, a rule that must be listed under "also applies", and whether
naloxone is suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.domain.check import Alert, CheckResult, MedicationInput
from service.domain.severity import Severity
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, is_rule, run

CONTRA = Severity.CONTRAINDICATED
MAJOR = Severity.MAJOR
MODERATE = Severity.MODERATE
MINOR = Severity.MINOR


@dataclass(frozen=True)
class Expect:
    """What one case requires of one pair (or one ingredient) of the answer."""

    verdict: str  # "at least" | "exactly" | "no alert" | "nothing involving"
    ingredients: tuple[str, ...]
    severity: Severity | None = None
    kind: str = "interaction"
    decided_by: str | None = None
    also_applies: str | None = None
    naloxone: bool | None = None

    def __str__(self) -> str:
        level = f" {self.severity.value}" if self.severity else ""
        return f"{' × '.join(self.ingredients)}: {self.verdict}{level} ({self.kind})"

    def verify(self, result: CheckResult) -> None:
        if self.verdict == "nothing involving":
            (ingredient,) = self.ingredients
            naming = [a.id for a in result.alerts if ingredient in a.ingredients]
            assert naming == [], f"{self}: {naming}"
            return
        alert = alert_for(result, *self.ingredients, kind=self.kind)
        if self.verdict == "no alert":
            assert alert is None, f"{self}: got {_describe(alert)}"
            return
        assert alert is not None, f"{self}: no such alert among {[a.id for a in result.alerts]}"
        assert self.severity is not None
        if self.verdict == "exactly":
            assert alert.severity is self.severity, f"{self}: got {_describe(alert)}"
        else:
            assert alert.severity >= self.severity, f"{self}: got {_describe(alert)}"
        if self.decided_by is not None:
            assert is_rule(alert.rule.id, self.decided_by), f"{self}: got {_describe(alert)}"
        if self.also_applies is not None:
            listed = [rule.id for rule in alert.also_applies]
            assert any(is_rule(r, self.also_applies) for r in listed), f"{self}: also {listed}"
        if self.naloxone is not None:
            assert alert.suggest_naloxone is self.naloxone, f"{self}: got {_describe(alert)}"


def _describe(alert: Alert | None) -> str:
    if alert is None:
        return "no alert"
    also = [rule.id for rule in alert.also_applies]
    naloxone = alert.suggest_naloxone
    return f"{alert.severity.value} by {alert.rule.id}, also {also}, naloxone {naloxone}"


def at_least(severity: Severity, a: str, b: str, **checks: object) -> Expect:
    return Expect("at least", (a, b), severity, **checks)  # type: ignore[arg-type]


def exactly(severity: Severity, a: str, b: str, **checks: object) -> Expect:
    return Expect("exactly", (a, b), severity, **checks)  # type: ignore[arg-type]


def no_alert(a: str, b: str) -> Expect:
    return Expect("no alert", (a, b))


def nothing_involving(ingredient: str) -> Expect:
    return Expect("nothing involving", (ingredient,))


def case(case_id: str, medications: list[str | MedicationInput], *expectations: Expect) -> object:
    return pytest.param(medications, expectations, id=case_id)


# fmt: off
WORKED_CASES = [
    # B. Benzodiazepines and CYP3A
    case("T01", ["Xanax 0.5 mg", "Sporanox"],
         at_least(CONTRA, "alprazolam", "itraconazole", decided_by="R23")),
    case("T02", ["Xanax XR", "Paxlovid"],
         exactly(MAJOR, "alprazolam", "ritonavir", decided_by="R24"),
         no_alert("alprazolam", "nirmatrelvir")),
    case("T03", ["Halcion", "ketoconazole 200 mg tablets"],
         at_least(CONTRA, "ketoconazole", "triazolam", decided_by="R26")),
    case("T04", ["triazolam", "Cardizem"],
         at_least(MODERATE, "diltiazem", "triazolam", decided_by="R27")),
    case("T05", ["Nayzilam", "Vfend"],
         at_least(MAJOR, "midazolam", "voriconazole", decided_by="R28")),
    case("T06", ["estazolam", "itraconazole"],
         at_least(CONTRA, "estazolam", "itraconazole", decided_by="R30")),
    case("T07", ["Klonopin", "clarithromycin"],
         at_least(MODERATE, "clarithromycin", "clonazepam", decided_by="R16")),
    case("T08", ["lorazepam", "ketoconazole"],
         no_alert("ketoconazole", "lorazepam")),
    # A. Opioids and CYP3A4
    case("T09", ["OxyContin 20 mg", "clarithromycin"],
         at_least(MAJOR, "clarithromycin", "oxycodone", decided_by="R17", naloxone=True)),
    case("T10", ["Duragesic", "Norvir"],
         at_least(MAJOR, "fentanyl", "ritonavir", decided_by="R17")),
    case("T11", ["Norco", "Diflucan"],
         at_least(MODERATE, "fluconazole", "hydrocodone", decided_by="R19")),
    case("T12", ["methadone", "ketoconazole"],
         at_least(CONTRA, "ketoconazole", "methadone", decided_by="R18", also_applies="R17")),
    case("T13", ["Dolophine", "rifampin"],
         at_least(MAJOR, "methadone", "rifampin", decided_by="R21", naloxone=True)),
    case("T14", ["Percocet", "Tegretol"],
         at_least(MAJOR, "carbamazepine", "oxycodone", decided_by="R21")),
    case("T15", ["MS Contin", "clarithromycin"],
         no_alert("clarithromycin", "morphine")),
    case("T16", ["Nucynta", "clarithromycin"],
         no_alert("clarithromycin", "tapentadol")),
    # F. MAO inhibitors
    case("T17", ["Demerol", "Nardil"],
         at_least(CONTRA, "meperidine", "phenelzine", decided_by="R58")),
    case("T18", ["Ultram", "Emsam"],
         at_least(CONTRA, "selegiline", "tramadol", decided_by="R58")),
    case("T19", ["Nucynta ER", "Zyvox"],
         at_least(CONTRA, "linezolid", "tapentadol", decided_by="R58")),
    case("T20", ["methadone", "Azilect"],
         at_least(CONTRA, "methadone", "rasagiline", decided_by="R58")),
    case("T21", ["Duragesic", "phenelzine"],
         at_least(MAJOR, "fentanyl", "phenelzine", decided_by="R59")),
    case("T22", ["MS Contin", "Parnate"],
         exactly(MAJOR, "morphine", "tranylcypromine", decided_by="R60")),
    case("T23", ["Vicks NyQuil Cold & Flu liquid", "Nardil"],
         at_least(CONTRA, "dextromethorphan", "phenelzine", decided_by="R58"),
         exactly(MAJOR, "ethanol", "phenelzine", decided_by="R72"),  # Decision 5
         exactly(MAJOR, "doxylamine", "phenelzine", decided_by="R73")),  # Decision 5
    case("T24", ["ProvayBlue", "Zoloft"],
         at_least(CONTRA, "methylene blue", "sertraline", decided_by="R61")),
    case("T25", ["Emsam", "Sudafed"],
         at_least(CONTRA, "pseudoephedrine", "selegiline", decided_by="R69")),
    case("T26", ["Xadago", "trazodone"],
         at_least(CONTRA, "safinamide", "trazodone", decided_by="R63")),
    # G. Opioids and serotonergic drugs
    case("T27", ["tramadol", "Zoloft"],
         at_least(MAJOR, "sertraline", "tramadol", decided_by="R74")),
    case("T28", ["oxycodone", "sertraline"],
         exactly(MINOR, "oxycodone", "sertraline", decided_by="R76")),  # Decision 7
    case("T29", ["fentanyl", "ondansetron"],
         at_least(MODERATE, "fentanyl", "ondansetron", decided_by="R75")),
    # H. Antagonists, mixed and partial agonists
    case("T30", ["Suboxone", "Vivitrol"],
         at_least(CONTRA, "buprenorphine", "naltrexone", decided_by="R78"),
         no_alert("naloxone", "naltrexone"),
         nothing_involving("naloxone")),
    case("T31", ["Lybalvi", "Percocet"],
         at_least(CONTRA, "oxycodone", "samidorphan", decided_by="R79"),
         at_least(MAJOR, "olanzapine", "oxycodone", decided_by="R12")),  # Decision 2
    case("T32", ["Narcan nasal spray", "OxyContin"],
         no_alert("naloxone", "oxycodone"),
         nothing_involving("naloxone")),
    case("T33", ["Embeda"],
         no_alert("morphine", "naltrexone")),
    case("T34", ["butorphanol nasal spray", "OxyContin"],
         at_least(MAJOR, "butorphanol", "oxycodone", decided_by="R80"),
         exactly(MODERATE, "butorphanol", "oxycodone", kind="duplication", decided_by="D2")),
    # E. CYP2D6 and prodrug opioids
    case("T35", ["Tylenol with Codeine #3", "Paxil"],
         at_least(MAJOR, "codeine", "paroxetine", decided_by="R56", naloxone=True)),
    # J. Seizure threshold
    case("T36", ["Wellbutrin XL", "tramadol"],
         at_least(MAJOR, "bupropion", "tramadol", decided_by="R88", also_applies="R56")),
    # I. QT prolongation
    case("T37", ["methadone", "Geodon"],
         at_least(CONTRA, "methadone", "ziprasidone", decided_by="R84", also_applies="R83")),
    # C. Muscle relaxants
    case("T38", ["Zanaflex", "Cipro"],
         at_least(CONTRA, "ciprofloxacin", "tizanidine", decided_by="R44")),
    # Precedence P1/P3 (Decision 1)
    case("T39", ["Klonopin", "phenobarbital"],
         exactly(MAJOR, "clonazepam", "phenobarbital", decided_by="R10", also_applies="R14")),
    # Route (Decision 6): a topical azole is not a CYP3A inhibitor
    case("T40", ["Nizoral A-D", "Xanax"],
         no_alert("alprazolam", "ketoconazole")),
]

FAMILY_CASES = [
    # B. Orexin antagonists with a strong CYP3A inhibitor; glucuronidated benzodiazepines
    case("B-R33 Belsomra and clarithromycin", ["Belsomra", "clarithromycin"],
         at_least(MAJOR, "clarithromycin", "suvorexant", decided_by="R33")),
    case("B temazepam and itraconazole", ["temazepam", "itraconazole"],
         no_alert("itraconazole", "temazepam")),
    case("B lorazepam and ketoconazole", ["lorazepam", "ketoconazole tablets"],
         no_alert("ketoconazole", "lorazepam")),
    # C. Antipsychotics and PK contraindications
    case("C-R37 Latuda and clarithromycin", ["Latuda", "clarithromycin"],
         at_least(CONTRA, "clarithromycin", "lurasidone", decided_by="R37")),
    case("C-R47 thioridazine and Prozac", ["thioridazine", "Prozac"],
         at_least(CONTRA, "fluoxetine", "thioridazine", decided_by="R47")),
    # D. Anticonvulsants and oxybates
    case("D-R49 Lamictal and Depakote", ["Lamictal", "Depakote"],
         at_least(MAJOR, "lamotrigine", "valproate", decided_by="R49")),
    case("D-R50 valproate and meropenem", ["valproate", "meropenem"],
         at_least(MAJOR, "meropenem", "valproate", decided_by="R50")),
    case("D-R51 Xyrem and Depakote", ["Xyrem", "Depakote"],
         at_least(MAJOR, "oxybate", "valproate", decided_by="R51", also_applies="R8")),
    case("D-R53 carbamazepine and Vfend", ["carbamazepine", "Vfend"],
         at_least(CONTRA, "carbamazepine", "voriconazole", decided_by="R53")),
    # F. Decision 5: a broad "sedatives" contraindication of an old MAOI label is major
    case("F-R73 Marplan and Xanax", ["Marplan", "Xanax"],
         exactly(MAJOR, "alprazolam", "isocarboxazid", decided_by="R73", also_applies="R11")),
    # F. Decision 6: low-dose oral methylene blue is moderate
    case("F-R61 Uribel and Zoloft", ["Uribel", "Zoloft"],
         exactly(MODERATE, "methylene blue", "sertraline", decided_by="R61")),
    # K. Antipsychotics with benzodiazepines
    case("K-R91 Clozaril and Ativan", ["Clozaril", "Ativan"],
         at_least(MAJOR, "clozapine", "lorazepam", decided_by="R91")),
    # R7 covers orexin antagonists (Decision 15)
    case("R7 Xyrem and Belsomra", ["Xyrem", "Belsomra"],
         exactly(CONTRA, "oxybate", "suvorexant", decided_by="R7")),
    # R93: two CNS depressants of different classes that no other rule covers (Decision 3)
    case("R93 zolpidem and diphenhydramine", ["zolpidem", "diphenhydramine"],
         exactly(MODERATE, "diphenhydramine", "zolpidem", decided_by="R93")),
    case("R93 suvorexant and zolpidem", ["suvorexant", "zolpidem"],
         exactly(MODERATE, "suvorexant", "zolpidem", decided_by="R93")),
    case("R93 butalbital and zolpidem", ["butalbital", "zolpidem"],
         exactly(MODERATE, "butalbital", "zolpidem", decided_by="R93")),
    case("R93 gabapentin and cyclobenzaprine", ["gabapentin", "cyclobenzaprine"],
         exactly(MODERATE, "cyclobenzaprine", "gabapentin", decided_by="R93")),
    # Must not alert
    case("no alert morphine and clarithromycin", ["morphine", "clarithromycin"],
         no_alert("clarithromycin", "morphine")),
    case("no alert Nizoral A-D shampoo and alprazolam", ["Nizoral A-D shampoo", "alprazolam"],
         no_alert("alprazolam", "ketoconazole")),
    case("R82 Suboxone and Narcan", ["Suboxone", "Narcan"],
         nothing_involving("naloxone")),
    # Precedence (Decision 1): R10 decides, R14's inducer advice is listed
    case("P1 clonazepam and phenobarbital", ["clonazepam", "phenobarbital"],
         exactly(MAJOR, "clonazepam", "phenobarbital", decided_by="R10", also_applies="R14")),
    case("P1 clonazepam and primidone", ["clonazepam", "primidone"],
         exactly(MAJOR, "clonazepam", "primidone", decided_by="R10", also_applies="R14")),
]
# fmt: on


@pytest.mark.parametrize(("medications", "expectations"), WORKED_CASES)
def test_each_worked_case_of_the_policy_gets_the_answer_it_requires(
    seed_kb: KbSnapshot, medications: list[str], expectations: tuple[Expect, ...]
) -> None:
    _verify(seed_kb, medications, expectations)


@pytest.mark.parametrize(("medications", "expectations"), FAMILY_CASES)
def test_each_rule_family_and_exclusion_has_a_case_that_gets_the_answer_it_requires(
    seed_kb: KbSnapshot, medications: list[str], expectations: tuple[Expect, ...]
) -> None:
    _verify(seed_kb, medications, expectations)


def _verify(kb: KbSnapshot, medications: list[str], expectations: tuple[Expect, ...]) -> None:
    result = run(kb, *medications)
    unrecognised = [m.input.label for m in result.unrecognized]
    assert unrecognised == [], f"the knowledge base does not recognise {unrecognised}"
    for expectation in expectations:
        expectation.verify(result)


def test_acetaminophen_in_two_products_is_a_major_duplication_naming_both(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "Norco", "Tylenol")
    assert result.complete, f"not recognised: {[m.input.label for m in result.unrecognized]}"
    alert = alert_for(result, "acetaminophen", kind="duplication")
    assert alert is not None, [a.id for a in result.alerts]
    assert alert.severity is MAJOR and alert.rule.id == "D1" and alert.reason_for_service == "ID"
    assert alert.medications == (0, 1)


def test_suboxone_with_narcan_is_not_the_same_ingredient_twice(seed_kb: KbSnapshot) -> None:
    result = run(seed_kb, "Suboxone", "Narcan")
    assert result.complete, f"not recognised: {[m.input.label for m in result.unrecognized]}"
    assert alert_for(result, "naloxone", kind="duplication") is None
    assert [a.id for a in result.alerts if "naloxone" in a.ingredients] == []


def test_older_adults_on_three_beers_cns_active_drugs_get_a_major_cumulative_alert(
    seed_kb: KbSnapshot,
) -> None:
    """Decision 14: at 65 or older an SSRI counts, though it is no CNS depressant."""
    result = run(seed_kb, "sertraline", "gabapentin", "zolpidem", age=72)
    cumulative = alert_for(result, "gabapentin", "sertraline", "zolpidem", kind="cumulative")
    assert cumulative is not None and cumulative.severity is MAJOR and cumulative.rule.id == "C1"


def test_under_sixty_five_an_ssri_does_not_count_toward_the_cumulative_alert(
    seed_kb: KbSnapshot,
) -> None:
    result = run(seed_kb, "sertraline", "gabapentin", "zolpidem", age=50)
    assert [a.id for a in result.alerts if a.kind.value == "cumulative"] == []
