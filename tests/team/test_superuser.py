"""An operator's `ceres createsuperuser` login (no team Person) can use every page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from ceres.accounts.models import Account


@pytest.mark.parametrize("path", ["/accounts/", "/team/", "/team/tokens/", "/accounts/new/"])
def test_superuser_without_a_person_sees_pages(db: None, acme: Account, path: str) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(admin)
    response = client.get(path)
    assert response.status_code == 200
    assert client.get(f"/accounts/{acme.pk}/").status_code == 200
