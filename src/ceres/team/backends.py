"""Permissions come from the person's role (a Django group), less what is withheld from them.

Django's ModelBackend can only add permissions; a person who has the role of support engineer
but has not finished onboarding must not see real names yet, so this backend subtracts the
person's `withheld_permissions` from what their groups grant.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class RolePermissionBackend(ModelBackend):
    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        granted = super().get_group_permissions(user_obj, obj)
        person = getattr(user_obj, "person", None)
        withheld = set(getattr(person, "withheld_permissions", None) or ())
        return granted - withheld if withheld else granted
