"""Checkpoints are C2SP signed notes: they round-trip, and any change to one is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.checkpoint import BadCheckpoint, Checkpoint, SigningKey, VerifierKey

# The example of golang.org/x/mod/sumdb/note, the reference implementation of signed notes.
GO_SIGNING_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\N{EM DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

KEY = SigningKey.generate("alerts.example.org/log")
VERIFIER = VerifierKey.from_text(KEY.verifier_text())
ROOT = sha256(b"a root").digest()
WHEN = datetime(2026, 12, 3, 6, 27, 8, tzinfo=UTC)
CHECKPOINT = Checkpoint(origin="alerts.example.org/alert_log", size=1234, root=ROOT, time=WHEN)
BODY = (
    "alerts.example.org/alert_log\n1234\n"
    f"{base64.b64encode(ROOT).decode()}\ntime 2026-12-03T06:27:08Z\n"
)


def signed_by_hand(text: str, key: SigningKey = KEY) -> str:
    """A note signed outside the module, as a third party would, so the format is checked twice."""
    seed = base64.b64decode(key.text().split("+", 4)[4])[1:]
    private = Ed25519PrivateKey.from_private_bytes(seed)
    key_id = sha256(key.name.encode() + b"\n\x01" + private.public_key().public_bytes_raw())
    signature = base64.b64encode(key_id.digest()[:4] + private.sign(text.encode())).decode()
    return f"{text}\n\N{EM DASH} {key.name} {signature}\n"


def test_the_go_reference_keys_read_and_write_back_unchanged() -> None:
    key = SigningKey.from_text(GO_SIGNING_KEY)
    assert key.name == "PeterNeumann"
    assert key.text() == GO_SIGNING_KEY
    assert key.verifier_text() == GO_VERIFIER_KEY
    assert VerifierKey.from_text(GO_VERIFIER_KEY).text() == GO_VERIFIER_KEY


def test_the_go_reference_note_opens_and_a_changed_one_does_not() -> None:
    verifier = VerifierKey.from_text(GO_VERIFIER_KEY)
    assert verifier.open_note(GO_NOTE) == GO_TEXT
    with pytest.raises(BadCheckpoint):
        verifier.open_note(GO_NOTE.replace("cryptography", "cryptographY"))
    with pytest.raises(BadCheckpoint):
        verifier.open(GO_NOTE)  # signed, but not a checkpoint


def test_our_signature_matches_the_go_reference_signature_over_the_same_text() -> None:
    # Ed25519 is deterministic: the same key over the same text gives the reference's bytes.
    assert signed_by_hand(GO_TEXT, SigningKey.from_text(GO_SIGNING_KEY)) == GO_NOTE


def test_a_checkpoint_is_written_in_the_tlog_checkpoint_layout() -> None:
    assert CHECKPOINT.body() == BODY
    note = KEY.sign(CHECKPOINT)
    text, signature_line = note.split("\n\n")
    assert text + "\n" == BODY
    assert signature_line.startswith("\N{EM DASH} alerts.example.org/log ")
    assert signature_line.endswith("\n") and signature_line.count("\n") == 1


def test_the_signature_covers_exactly_the_body_under_the_specs_key_id() -> None:
    note = KEY.sign(CHECKPOINT)
    blob = base64.b64decode(note.split("\n\n")[1].split(" ")[2])
    public = base64.b64decode(KEY.verifier_text().split("+", 2)[2])
    assert public[:1] == b"\x01"
    assert blob[:4] == sha256(b"alerts.example.org/log\n" + public).digest()[:4]
    assert KEY.verifier_text().split("+")[1] == blob[:4].hex()
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(blob[4:], BODY.encode())
    assert note == signed_by_hand(BODY)


def test_a_signed_checkpoint_opens_to_itself() -> None:
    assert VERIFIER.open(KEY.sign(CHECKPOINT)) == CHECKPOINT
    assert KEY.verifier().open(KEY.sign(CHECKPOINT)) == CHECKPOINT


@settings(max_examples=60, deadline=None)
@given(
    origin=st.text(
        st.characters(codec="utf-8", exclude_characters="\n", min_codepoint=0x20), min_size=1
    ),
    size=st.integers(0, 2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
    time=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_checkpoint_round_trips(origin: str, size: int, root: bytes, time: datetime) -> None:
    checkpoint = Checkpoint(origin=origin, size=size, root=root, time=time)
    assert VERIFIER.open(KEY.sign(checkpoint)) == checkpoint


def test_the_time_is_kept_in_utc_to_the_second() -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 12, 3, 7, 27, 8, 999_999, tzinfo=paris)
    assert Checkpoint(origin="o", size=1, root=ROOT, time=local).time == WHEN
    with pytest.raises(ValueError):
        Checkpoint(origin="o", size=1, root=ROOT, time=datetime(2026, 12, 3))


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [("", 1, ROOT), ("two\nlines", 1, ROOT), ("o", -1, ROOT), ("o", 1, ROOT[:31])],
)
def test_a_checkpoint_that_cannot_be_written_is_refused(
    origin: str, size: int, root: bytes
) -> None:
    with pytest.raises(ValueError):
        Checkpoint(origin=origin, size=size, root=root, time=WHEN)


OTHER_ROOT = base64.b64encode(sha256(b"another root").digest()).decode()


@pytest.mark.parametrize(
    "forged_body",
    [
        pytest.param(BODY.replace("\n1234\n", "\n1235\n"), id="changed size"),
        pytest.param(BODY.replace(base64.b64encode(ROOT).decode(), OTHER_ROOT), id="changed root"),
        pytest.param(BODY.replace("06:27:08", "06:27:09"), id="changed time"),
        pytest.param(BODY.replace("alert_log", "audit_event"), id="changed origin"),
    ],
)
def test_a_changed_checkpoint_under_the_old_signature_is_refused(forged_body: str) -> None:
    signature = KEY.sign(CHECKPOINT).split("\n\n")[1]
    with pytest.raises(BadCheckpoint, match="does not verify"):
        VERIFIER.open(f"{forged_body}\n{signature}")


@pytest.mark.parametrize(
    "odd_body",
    [
        pytest.param(BODY + "extension\n", id="an extra line"),
        pytest.param(BODY.rsplit("time", 1)[0], id="no time line"),
        pytest.param("\n".join(BODY.split("\n")[1:]), id="no origin line"),
        pytest.param(BODY.replace("\n1234\n", "\n01234\n"), id="a size with a leading zero"),
        pytest.param(BODY.replace("\n1234\n", "\n+1234\n"), id="a signed size"),
        pytest.param(BODY.replace("=\n", "\n"), id="unpadded base64"),
        pytest.param(BODY.replace("time ", "Time "), id="not a time line"),
        pytest.param(BODY.replace("06:27:08Z", "06:27:08+00:00"), id="another time format"),
        pytest.param(BODY.replace("2026-12-03", "2026-12-3"), id="an unpadded date"),
    ],
)
def test_a_correctly_signed_note_that_is_not_exactly_a_checkpoint_is_refused(
    odd_body: str,
) -> None:
    note = signed_by_hand(odd_body)
    assert VERIFIER.open_note(note) == odd_body
    with pytest.raises(BadCheckpoint):
        VERIFIER.open(note)


def test_a_note_signed_by_another_key_or_under_another_name_is_refused() -> None:
    another_key = SigningKey.generate("alerts.example.org/log")
    with pytest.raises(BadCheckpoint, match="not signed by"):
        VERIFIER.open(another_key.sign(CHECKPOINT))
    renamed = KEY.sign(CHECKPOINT).replace(" alerts.example.org/log ", " alerts.example.org/other ")
    with pytest.raises(BadCheckpoint, match="not signed by"):
        VERIFIER.open(renamed)
    same_seed_other_name = SigningKey.from_text(
        signing_key_text("alerts.example.org/other", KEY.text().split("+", 4)[4])
    )
    with pytest.raises(BadCheckpoint, match="not signed by"):
        VERIFIER.open(same_seed_other_name.sign(CHECKPOINT))


def signing_key_text(name: str, encoded_seed: str) -> str:
    """A private key text for this seed under another name, with the ID the spec gives it."""
    seed = base64.b64decode(encoded_seed)[1:]
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    key_id = sha256(name.encode() + b"\n\x01" + public).digest()[:4].hex()
    return f"PRIVATE+KEY+{name}+{key_id}+{encoded_seed}"


def test_a_key_whose_id_does_not_match_is_refused_when_read() -> None:
    wrong_id = KEY.text().split("+", 4)
    wrong_id[3] = "00000000"
    with pytest.raises(ValueError):
        SigningKey.from_text("+".join(wrong_id))
    verifier = KEY.verifier_text().split("+", 2)
    verifier[1] = "00000000"
    with pytest.raises(ValueError):
        VerifierKey.from_text("+".join(verifier))


def test_other_keys_signatures_are_ignored_but_a_bad_one_of_ours_is_not() -> None:
    witness = SigningKey.generate("witness.example.net")
    ours = KEY.sign(CHECKPOINT)
    witness_line = witness.sign(CHECKPOINT).split("\n\n")[1]
    assert VERIFIER.open(ours + witness_line) == CHECKPOINT
    assert VERIFIER.open(BODY + "\n" + witness_line + ours.split("\n\n")[1]) == CHECKPOINT

    our_line = ours.split("\n\n")[1]
    blob = bytearray(base64.b64decode(our_line.split(" ")[2]))
    blob[-1] ^= 1
    broken_line = f"\N{EM DASH} {KEY.name} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(BadCheckpoint, match="does not verify"):
        VERIFIER.open(ours + broken_line)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda note: note.replace("\n\n", "\n"), id="no blank line"),
        pytest.param(lambda note: note.rstrip("\n"), id="no final newline"),
        pytest.param(lambda note: note + "\n", id="a trailing blank line"),
        pytest.param(lambda note: note.replace("\N{EM DASH}", "-"), id="a hyphen, not an em dash"),
        pytest.param(lambda note: note.replace("\n1234\n", "\n1234\r\n"), id="a carriage return"),
        pytest.param(lambda note: note + "not a signature\n", id="a stray line"),
        pytest.param(lambda note: note + "\N{EM DASH} x !!!!\n", id="a signature not in base64"),
        pytest.param(lambda note: note + "\N{EM DASH} x AAAA\n", id="a signature too short"),
        pytest.param(lambda note: note.split("\n\n")[0] + "\n\n", id="no signature"),
        pytest.param(lambda note: "", id="nothing"),
    ],
)
def test_a_note_not_in_the_signed_note_format_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadCheckpoint):
        VERIFIER.open(mangle(KEY.sign(CHECKPOINT)))


def test_too_many_signatures_are_refused() -> None:
    witness_line = SigningKey.generate("w").sign(CHECKPOINT).split("\n\n")[1]
    with pytest.raises(BadCheckpoint, match="too many"):
        VERIFIER.open(KEY.sign(CHECKPOINT) + witness_line * 100)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname"])
def test_a_key_name_the_spec_forbids_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        SigningKey.generate(name)


def test_a_signing_key_round_trips_through_its_text() -> None:
    again = SigningKey.from_text(KEY.text() + "\n")
    assert again.text() == KEY.text()
    assert VERIFIER.open(again.sign(CHECKPOINT)) == CHECKPOINT
    assert KEY.text().startswith("PRIVATE+KEY+alerts.example.org/log+")
