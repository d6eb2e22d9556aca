"""Web Push payload encryption against the worked example of RFC 8291 appendix A, so the encryption
is checked by the standard's own numbers and not only by the library that now performs it."""

from __future__ import annotations

import pytest
from cryb_plugins.notifications.webpush import RECORD_SIZE, encrypt, unb64url
from cryptography.hazmat.primitives.asymmetric import ec

PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH_SECRET = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8w"
    "EqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def _as_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64url(AS_PRIVATE), "big"), ec.SECP256R1())


def test_encrypt_gives_the_rfc8291_example_body_byte_for_byte():
    body = encrypt(
        PLAINTEXT, unb64url(UA_PUBLIC), unb64url(AUTH_SECRET), salt=unb64url(SALT), as_private=_as_key()
    )
    assert body == unb64url(BODY)


def test_each_message_gets_a_new_sender_key_and_salt():
    a = encrypt(PLAINTEXT, unb64url(UA_PUBLIC), unb64url(AUTH_SECRET))
    b = encrypt(PLAINTEXT, unb64url(UA_PUBLIC), unb64url(AUTH_SECRET))
    # salt (16) | record size (4) | key id length (1) | sender public key (65)
    assert a[:16] != b[:16] and a[21:86] != b[21:86]
    assert int.from_bytes(a[16:20], "big") == RECORD_SIZE and a[20] == 65


def test_a_payload_longer_than_one_record_is_refused():
    # Push services take exactly one record; 4096 - 16 (tag) - 1 (delimiter) bytes is the most.
    encrypt(b"x" * (RECORD_SIZE - 17), unb64url(UA_PUBLIC), unb64url(AUTH_SECRET))
    with pytest.raises(ValueError, match="one record"):
        encrypt(b"x" * (RECORD_SIZE - 16), unb64url(UA_PUBLIC), unb64url(AUTH_SECRET))


def test_a_subscription_key_not_on_p256_is_refused():
    with pytest.raises(ValueError):
        encrypt(PLAINTEXT, b"\x04" + b"\x01" * 64, unb64url(AUTH_SECRET))
