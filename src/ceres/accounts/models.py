"""Customer and prospect accounts, their contacts and their confidential codenames."""

from __future__ import annotations

from django.db import models

from ceres.team.models import Person

# A PositiveIntegerField is an `integer` on PostgreSQL: nothing above this fits.
MAX_HOST_COUNT = 2_147_483_647


class Product(models.Model):
    """A product or tier an account can be on (Fleet Free, Fleet Premium, ...)."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Codename(models.Model):
    """One name of the minor-planet catalogue. Once assigned it is never handed out again,
    even when its account is deleted: `assigned_at` is set once and never cleared."""

    number = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100, unique=True)
    folded = models.CharField(max_length=100, db_index=True)
    label = models.CharField(max_length=120, db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        PROSPECT = "prospect"

    class Deployment(models.TextChoices):
        SELF_HOSTED = "self_hosted", "Self-hosted"
        MANAGED_CLOUD = "managed_cloud", "Managed cloud"

    codename = models.OneToOneField(Codename, on_delete=models.PROTECT, related_name="account")
    # Confidential: shown only with accounts.view_confidential.
    legal_name = models.CharField(max_length=200)
    legal_name_folded = models.CharField(max_length=200, db_index=True)
    # Confidential too: other names the customer goes by ("Acme" for "Acme Robotics", a
    # product or domain name). The firewall keeps them out of public texts like the legal name.
    aliases = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CUSTOMER)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    deployment = models.CharField(
        max_length=20, choices=Deployment.choices, default=Deployment.SELF_HOSTED
    )
    product_version = models.CharField(max_length=50, blank=True, default="")
    host_count = models.PositiveIntegerField(default=0)
    slack_channel_id = models.CharField(max_length=30, blank=True, default="")
    crm_id = models.CharField(max_length=64, blank=True, default="")
    github_label = models.CharField(max_length=140, unique=True)
    csm_owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )
    renewal_date = models.DateField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["codename__name"]
        permissions = [("view_confidential", "Can see customers' real names")]
        indexes = [
            models.Index(
                fields=["kind", "product", "-host_count"], name="account_kind_product_hosts"
            ),
            models.Index(fields=["csm_owner"]),
        ]

    def __str__(self) -> str:
        # Never the legal name: str() ends up in logs, admin titles and error messages.
        return self.codename.name


class Contact(models.Model):
    class Role(models.TextChoices):
        CHAMPION = "champion"
        DRI = "dri", "DRI"
        ADMIN = "admin"
        BILLING = "billing"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    slack_user_id = models.CharField(max_length=20, blank=True, default="")
    role = models.CharField(max_length=20, choices=Role.choices)
    title = models.CharField(max_length=120, blank=True, default="")
    # A former DRI stays on record (with the history of the change) but is no longer active.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "role", "name"]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.account_id}"


class ChecklistTemplate(models.Model):
    """Steps of a handbook procedure run as a checklist (e.g. "Invite new customer DRI")."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    steps = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class DriChange(models.Model):
    """A change of the customer's DRI, worked through the handbook's steps."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dri_changes")
    new_dri = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    previous_dri = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"DRI change on {self.account_id}"


class ChecklistItem(models.Model):
    dri_change = models.ForeignKey(DriChange, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    text = models.CharField(max_length=300)
    depth = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["dri_change", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dri_change", "position"], name="checklist_position")
        ]

    def __str__(self) -> str:
        return self.text
