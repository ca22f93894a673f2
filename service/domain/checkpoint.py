"""Signed checkpoints: the transparency log's tree heads, in a text anyone can keep and check.

A checkpoint says "the log named `origin` had `size` leaves with this root hash at this time". It
is the body of a C2SP signed note, so it can be shipped, stored and verified outside this service
with existing tools (Go's `golang.org/x/mod/sumdb/note`, Sigstore, witnesses):

- C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the origin line, the tree size in
  decimal without leading zeros, the RFC 6962 root hash in standard padded base64, then optional
  non-empty extension lines. We write exactly one extension line, `time <RFC 3339 UTC, seconds>`,
  and accept no other shape, so a note that gained or lost a line is refused.
- C2SP signed-note (https://c2sp.org/signed-note): the text ending in a newline, a blank line,
  then signature lines `— <key name> <base64(4-byte key ID || signature)>`. The Ed25519 signature
  (type byte 0x01) covers exactly the text including its final newline; the key ID is the first
  four bytes of SHA-256(key name || 0x0A || 0x01 || public key). Keys are written as Go's note
  package writes them: `<name>+<key ID hex>+<base64(0x01 || public key)>` and
  `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`.

Signatures from other keys (a witness's cosignature, a rotated key) are ignored, as the spec asks;
a signature from our key that fails rejects the whole note.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_ED25519 = b"\x01"
_SIGNATURE_PREFIX = "\N{EM DASH} "
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MAX_SIGNATURES = 100  # as Go's note package: more is an attempt to waste the verifier's time
_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class BadCheckpoint(ValueError):
    """A note that is not a checkpoint signed by the expected key: never trust its contents."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict standard base64: padded, no stray characters, and only one spelling of each value."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not base64: {text!r}") from error
    if _b64(data) != text:
        raise ValueError(f"not canonical base64: {text!r}")
    return data


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL.search(name):
        raise ValueError(f"a key name is non-empty, without spaces or '+': {name!r}")
    return name


def _key_id(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + _ED25519 + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head. Its time is kept in UTC to the second, as the note writes it."""

    origin: str
    size: int
    root: bytes
    time: datetime

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise ValueError(f"an origin is one non-empty line of text: {self.origin!r}")
        if self.size < 0:
            raise ValueError(f"a tree cannot have {self.size} leaves")
        if len(self.root) != 32:
            raise ValueError("a root hash is 32 bytes")
        if self.time.utcoffset() is None:
            raise ValueError("a checkpoint's time must say its time zone")
        object.__setattr__(self, "time", self.time.astimezone(UTC).replace(microsecond=0))

    def body(self) -> str:
        """The note text that is signed: origin, size, root hash and the time extension line."""
        return (
            f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"
            f"time {self.time.strftime(_TIME_FORMAT)}\n"
        )

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Reads a body written by `body()`; anything else (a line more or less) is refused."""
        lines = text.split("\n")
        if len(lines) != 5 or lines[4] != "":
            raise BadCheckpoint("a checkpoint has exactly four lines: origin, size, root, time")
        origin, size, root, time = lines[:4]
        if not _SIZE.fullmatch(size):
            raise BadCheckpoint(f"the tree size is not a decimal number: {size!r}")
        if not time.startswith("time "):
            raise BadCheckpoint(f"the fourth line is not the time: {time!r}")
        try:
            when = datetime.strptime(time.removeprefix("time "), _TIME_FORMAT).replace(tzinfo=UTC)
            checkpoint = cls(origin=origin, size=int(size), root=_unb64(root), time=when)
        except ValueError as error:
            raise BadCheckpoint(str(error)) from error
        if checkpoint.body() != text:
            raise BadCheckpoint("the checkpoint is not written in its one canonical form")
        return checkpoint


class VerifierKey:
    """The public half: opens notes the matching `SigningKey` signed."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = _check_name(name)
        self._public_key = public_key
        self.key_id = _key_id(name, _raw_public(public_key))

    @classmethod
    def from_text(cls, text: str) -> VerifierKey:
        """Reads `<name>+<key ID hex>+<base64(0x01 || public key)>`."""
        parts = text.strip().split("+", 2)  # base64 may hold '+': the key is all after the 2nd
        if len(parts) != 3:
            raise ValueError("a verifier key reads <name>+<key id>+<key>")
        name, key_id, encoded = parts
        key = _unb64(encoded)
        if len(key) != 33 or key[:1] != _ED25519:
            raise ValueError("only Ed25519 verifier keys (type 0x01) are supported")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key[1:]))
        if verifier.key_id.hex() != key_id:
            raise ValueError("the verifier key's ID does not match its name and key")
        return verifier

    def text(self) -> str:
        public = _raw_public(self._public_key)
        return f"{self.name}+{self.key_id.hex()}+{_b64(_ED25519 + public)}"

    def open(self, note: str) -> Checkpoint:
        """The checkpoint in `note`, if this key signed it; `BadCheckpoint` otherwise."""
        return Checkpoint.from_body(self.open_note(note))

    def open_note(self, note: str) -> str:
        """The text of a signed note this key signed (any text); `BadCheckpoint` otherwise."""
        if _CONTROL.search(note):
            raise BadCheckpoint("a signed note contains no control characters but newlines")
        text_end = note.rfind("\n\n")
        if text_end < 0 or not note.endswith("\n"):
            raise BadCheckpoint("not a signed note: no blank line before the signatures")
        text = note[: text_end + 1]
        signature_lines = note[text_end + 2 : -1].split("\n")
        if len(signature_lines) > _MAX_SIGNATURES:
            raise BadCheckpoint("too many signatures")
        signed = False
        for line in signature_lines:
            signature = self._our_signature(line)
            if signature is None:
                continue
            try:
                self._public_key.verify(signature, text.encode())
            except InvalidSignature as error:
                raise BadCheckpoint(f"the signature by {self.name} does not verify") from error
            signed = True
        if not signed:
            raise BadCheckpoint(f"the note is not signed by {self.name}+{self.key_id.hex()}")
        return text

    def _our_signature(self, line: str) -> bytes | None:
        """The signature in `line` if it names this key; None for another key's signature."""
        if not line.startswith(_SIGNATURE_PREFIX):
            raise BadCheckpoint(f"not a signature line: {line!r}")
        name, _, encoded = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
        try:
            _check_name(name)
            blob = _unb64(encoded)
        except ValueError as error:
            raise BadCheckpoint(f"not a signature line: {line!r}") from error
        if len(blob) < 5:
            raise BadCheckpoint(f"a signature line too short to hold a signature: {line!r}")
        if name != self.name or blob[:4] != self.key_id:
            return None
        return blob[4:]


class SigningKey:
    """The log's private key. It must live outside the database whose rows it vouches for."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._private_key = private_key
        self._verifier = VerifierKey(name, private_key.public_key())

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """Reads `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ValueError("a signing key reads PRIVATE+KEY+<name>+<key id>+<key>")
        _, _, name, key_id, encoded = parts
        seed = _unb64(encoded)
        if len(seed) != 33 or seed[:1] != _ED25519:
            raise ValueError("only Ed25519 signing keys (type 0x01) are supported")
        key = cls(name, Ed25519PrivateKey.from_private_bytes(seed[1:]))
        if key.verifier().key_id.hex() != key_id:
            raise ValueError("the signing key's ID does not match its name and key")
        return key

    def text(self) -> str:
        """The private key text, for `AUDIT_SIGNING_KEY` or its file."""
        seed = self._private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self._verifier.key_id.hex()}+{_b64(_ED25519 + seed)}"

    def verifier(self) -> VerifierKey:
        return self._verifier

    def verifier_text(self) -> str:
        """The public key text to give to whoever checks the log."""
        return self._verifier.text()

    def sign(self, checkpoint: Checkpoint) -> str:
        """The checkpoint as a signed note carrying one signature line, ours."""
        text = checkpoint.body()
        signature = self._verifier.key_id + self._private_key.sign(text.encode())
        return f"{text}\n{_SIGNATURE_PREFIX}{self.name} {_b64(signature)}\n"
