"""JWT verification: algorithms, keys by kid, expiry and leeway, required claims."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from server.security_settings import token_issuer, token_verifier
from server.settings import SettingsError, load_settings
from server.tokens import TokenError, TokenIssuer, TokenVerifier, VerificationKey, parse_jwks
from tests.support.live_server import TEST_SECRET
from tests.support.tokens import alg_none_token, make_token

OLD_SECRET = "an-older-secret-still-valid-during-rotation-0123"  # noqa: S105 - test key
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(public: Any, algorithm: Any, kid: str, alg: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return {**entry, "kid": kid, "alg": alg}


def _oct(secret: str, kid: str) -> dict[str, Any]:
    k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    return {"kty": "oct", "k": k, "kid": kid, "alg": "HS256"}


JWKS = json.dumps(
    {
        "keys": [
            _oct(OLD_SECRET, "old"),
            _jwk(RSA_KEY.public_key(), RSAAlgorithm, "rsa-1", "RS256"),
            _jwk(EC_KEY.public_key(), ECAlgorithm, "ec-1", "ES256"),
        ]
    }
)


def _verifier(**env: str) -> TokenVerifier:
    base = {"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET, "STORYARN_JWT_JWKS": JWKS}
    return token_verifier(load_settings({**base, **env}))


def test_tokens_issued_by_us_verify() -> None:
    settings = load_settings({"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET})
    token = token_issuer(settings).issue("ann", 60)
    assert jwt.get_unverified_header(token)["kid"] == "primary"
    claims = token_verifier(settings).verify(token)
    assert claims.sub == "ann"
    assert claims.exp - claims.iat == 60


def test_tokens_without_kid_use_the_secret_key() -> None:
    assert _verifier().verify(make_token("ann")).sub == "ann"


def test_tokens_rotation_accepts_every_configured_kid() -> None:
    verifier = _verifier()
    old = make_token("ann", secret=OLD_SECRET, headers={"kid": "old"})
    assert verifier.verify(old).sub == "ann"
    rsa_pem = RSA_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signed = make_token("bob", secret=rsa_pem, algorithm="RS256", headers={"kid": "rsa-1"})  # type: ignore[arg-type]
    assert verifier.verify(signed).sub == "bob"
    ec_token = jwt.encode(
        {"sub": "cy", "iat": int(time.time()), "exp": int(time.time()) + 60},
        EC_KEY,
        algorithm="ES256",
        headers={"kid": "ec-1"},
    )
    assert verifier.verify(ec_token).sub == "cy"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (alg_none_token("ann"), "token algorithm not allowed"),
        (make_token("ann", secret="k" * 64, algorithm="HS512"), "token algorithm not allowed"),
        (make_token("ann", secret="x" * 40), "invalid token"),
        (make_token("ann", secret=OLD_SECRET), "invalid token"),  # right key, wrong kid
        (make_token("ann", headers={"kid": "nobody"}), "unknown token key"),
        (make_token("ann", headers={"kid": "rsa-1"}), "token algorithm does not match its key"),
        ("not-a-token", "malformed token"),
        ("a.b.c", "malformed token"),
        ("x" * 9000, "token too long"),
        (make_token("no spaces allowed"), "invalid token subject"),
    ],
)
def test_tokens_refused(token: str, reason: str) -> None:
    with pytest.raises(TokenError) as caught:
        _verifier().verify(token)
    assert caught.value.reason == reason
    assert not caught.value.expired


def test_tokens_algorithm_confusion_is_refused() -> None:
    # The RSA public key used as an HMAC secret: the classic RS256 -> HS256 forgery.
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = {"sub": "ann", "iat": int(time.time()), "exp": int(time.time()) + 60}
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"rsa-1"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    signature = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    forged = b".".join([header, body, base64.urlsafe_b64encode(signature).rstrip(b"=")])
    with pytest.raises(TokenError, match="does not match"):
        _verifier().verify(forged.decode())


def test_tokens_expiry_and_leeway() -> None:
    expired = make_token("ann", ttl=-10)
    with pytest.raises(TokenError) as caught:
        _verifier(STORYARN_JWT_LEEWAY_SECONDS="0").verify(expired)
    assert caught.value.expired and caught.value.reason == "token expired"
    # Ten seconds late is within thirty of clock skew.
    assert _verifier(STORYARN_JWT_LEEWAY_SECONDS="30").verify(expired).sub == "ann"
    future = make_token("ann", iat=int(time.time()) + 600)
    with pytest.raises(TokenError, match="invalid token"):
        _verifier().verify(future)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub"])
def test_tokens_require_exp_iat_and_sub(missing: str) -> None:
    now = int(time.time())
    claims = {"sub": "ann", "iat": now, "exp": now + 60}
    del claims[missing]
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="invalid token"):
        _verifier().verify(token)


def test_tokens_issuer_and_audience_when_configured() -> None:
    verifier = _verifier(STORYARN_JWT_ISSUER="storyarn", STORYARN_JWT_AUDIENCE="collab")
    good = make_token("ann", iss="storyarn", aud="collab")
    assert verifier.verify(good).sub == "ann"
    for bad in (make_token("ann"), make_token("ann", iss="other", aud="collab")):
        with pytest.raises(TokenError):
            verifier.verify(bad)
    issuer = TokenIssuer(TEST_SECRET, kid="primary", issuer="storyarn", audience="collab")
    assert verifier.verify(issuer.issue("ann", 60)).sub == "ann"


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ("{", "not JSON"),
        ('{"keys": 3}', "must be a JWKS"),
        ('{"keys": [{"kty": "oct", "k": "YQ"}]}', "needs a string kid"),
        (json.dumps({"keys": [_oct("short", "s")]}), "at least 32 bytes"),
        (json.dumps({"keys": [_oct(OLD_SECRET, "primary")]}), "reuses the kid"),
        (
            json.dumps({"keys": [{**_oct(OLD_SECRET, "h5"), "alg": "HS512"}]}),
            "not allowed",
        ),
    ],
)
def test_tokens_bad_jwks_stops_the_start(jwks: str, message: str) -> None:
    env = {"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET, "STORYARN_JWT_JWKS": jwks}
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_tokens_private_keys_are_refused_in_the_jwks() -> None:
    private = json.loads(RSAAlgorithm.to_jwk(RSA_KEY))
    with pytest.raises(ValueError, match="public key"):
        parse_jwks(json.dumps({"keys": [{**private, "kid": "k"}]}))


def test_tokens_issue_refuses_bad_users_and_ttls() -> None:
    issuer = TokenIssuer(TEST_SECRET, kid="primary")
    with pytest.raises(ValueError, match="user id"):
        issuer.issue("bad user", 60)
    with pytest.raises(ValueError, match="at least one second"):
        issuer.issue("ann", 0)


def test_tokens_verifier_without_default_refuses_unnamed_tokens() -> None:
    verifier = TokenVerifier(
        [VerificationKey("k", "HS256", TEST_SECRET.encode())], leeway_seconds=0
    )
    with pytest.raises(TokenError, match="unknown token key"):
        verifier.verify(make_token("ann"))
