"""The medicine form as posted: read, tidy and limit it. Problems are codes; templates word them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from werkzeug.datastructures import MultiDict

from ..domain.check import MAX_PATIENT_AGE

MIN_AGE, MAX_AGE = 0, MAX_PATIENT_AGE
MAX_MEDICINES = 30
MAX_NAME_CHARS = 200
CORRECTION_FIELD = "correct-"  # + the position of the medicine a "did you mean" choice replaces
ALCOHOL = "alcohol"  # the KB's name for alcoholic drinks; what the "I drink alcohol" box adds


@dataclass(frozen=True)
class MedicineForm:
    """The form's values as the patient typed them, and what is wrong with them.

    ``errors`` maps a field (``medicine-3``, ``medicines``, ``age``) to a problem code such as
    ``too_long``; the template turns each code into words.
    """

    medicines: tuple[str, ...] = ("",)
    drinks_alcohol: bool = False
    age_text: str = ""
    age: int | None = None
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def entered(self) -> tuple[str, ...]:
        """The non-blank medicines: what is checked, and what the result page names."""
        return tuple(m for m in self.medicines if m)

    @property
    def checked_items(self) -> tuple[str, ...]:
        """What goes to the check: their medicines, then alcohol if they said they drink."""
        return (*self.entered, ALCOHOL) if self.drinks_alcohol else self.entered

    @property
    def can_add(self) -> bool:
        return len(self.medicines) < MAX_MEDICINES

    def with_another_field(self) -> MedicineForm:
        """One more empty field (the no-JavaScript "add another")."""
        kept = self.entered
        medicines = kept if len(kept) >= MAX_MEDICINES else (*kept, "")
        return replace(self, medicines=medicines, errors={})

    def for_editing(self) -> MedicineForm:
        """The entered medicines with no empty gaps, ready to change and check again."""
        return replace(self, medicines=self.entered or ("",), errors={})

    def corrected(self, choices: Mapping[int, str]) -> MedicineForm:
        """The list with every chosen "did you mean" correction applied at once."""
        entered = list(self.entered)
        for position, text in choices.items():
            if 0 <= position < len(entered):
                entered[position] = text
        return _validated(replace(self, medicines=tuple(entered)))


def read_form(data: MultiDict[str, str]) -> MedicineForm:
    """The posted form, tidied (control characters and extra spaces removed) and validated."""
    medicines = tuple(tidy(m) for m in data.getlist("medicine")) or ("",)
    age_text = tidy(data.get("age") or "")
    form = MedicineForm(
        medicines=medicines,
        drinks_alcohol=bool(data.get("alcohol")),
        age_text=age_text,
        age=int(age_text) if age_text.isdecimal() and len(age_text) <= 3 else None,
    )
    return _validated(form)


def read_corrections(data: MultiDict[str, str]) -> dict[int, str]:
    """The "did you mean" choices, one ``correct-<position>`` field per unrecognised medicine.

    An empty value means "keep what I typed"; anything malformed is ignored, never guessed at.
    """
    choices: dict[int, str] = {}
    for key, value in data.items(multi=True):
        position = key.removeprefix(CORRECTION_FIELD)
        text = tidy(value)
        if (
            key.startswith(CORRECTION_FIELD)
            and position.isdecimal()
            and 0 < len(text) <= MAX_NAME_CHARS
        ):
            choices[int(position)] = text
    return choices


def tidy(text: str) -> str:
    """Printable characters only, single spaces: a NUL or a newline is never part of a name."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())


def _validated(form: MedicineForm) -> MedicineForm:
    errors: dict[str, str] = {}
    for number, medicine in enumerate(form.medicines, start=1):
        if len(medicine) > MAX_NAME_CHARS:
            errors[f"medicine-{number}"] = "too_long"
    if not form.entered:
        errors["medicines"] = "none"
    elif len(form.entered) > MAX_MEDICINES:
        errors["medicines"] = "too_many"
    if form.age_text and (form.age is None or not MIN_AGE <= form.age <= MAX_AGE):
        errors["age"] = "invalid"
    return replace(form, errors=errors)
