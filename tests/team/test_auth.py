from __future__ import annotations

import importlib

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from ceres.team.models import Person


def test_ceres_hashes_passwords_with_argon2() -> None:
    configured = importlib.import_module("ceres.settings")
    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("correct horse", hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("wrong horse", encoded)


def test_login_with_csrf_and_session_cookie(cse: Person) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    refused = client.post(
        "/login/", {"username": "lena", "password": "correct horse battery staple"}
    )
    assert refused.status_code == 403
    response = client.post(
        "/login/",
        {
            "username": "lena",
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"]
    assert client.get("/accounts/").status_code == 200


def test_wrong_password_is_refused(cse: Person) -> None:
    client = Client()
    response = client.post("/login/", {"username": "lena", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
