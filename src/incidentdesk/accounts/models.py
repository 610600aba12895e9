from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Incident Management Team Manager"
    MEMBER = "member", "Incident Management Team Member"
    STAKEHOLDER = "stakeholder", "Stakeholder"


TEAM_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.MEMBER})


class StakeholderOrg(models.Model):
    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField(unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    organisation = models.ForeignKey(
        StakeholderOrg, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc,assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_team(self) -> bool:
        return self.role in TEAM_ROLES

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"
    # only `/metrics`, for a Prometheus server; never the API
    METRICS = "metrics", "Metrics only"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once.

    A `read` token may only use safe methods (GET, HEAD, OPTIONS); a token past `expires_at`
    or with `revoked_at` set no longer authenticates."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=7, choices=TokenScope.choices, default=TokenScope.WRITE)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def is_active_at(self, when: datetime.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > when)

    def state_at(self, when: datetime.datetime) -> str:
        """'active', 'expired' or 'revoked', as the token's owner reads it."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= when:
            return "expired"
        return "active"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.email})"


class IdentityProvider(models.Model):
    """An OpenID Connect provider an administrator added in the pages (the environment's one,
    `INCIDENTDESK_OIDC_*`, is not a row). Its client secret is encrypted at rest
    (core/crypto.py) and never shown back; `role_map` is written as INCIDENTDESK_OIDC_ROLE_MAP.
    `slug` names its callback address, registered at the provider, so it never changes."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    issuer = models.CharField(max_length=255, unique=True)
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField(blank=True)
    scopes = models.CharField(max_length=255, default="openid email profile")
    roles_claim = models.CharField(max_length=100, default="groups")
    role_map = models.TextField()
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"


class ExternalIdentity(models.Model):
    """A person's account at an identity provider, linked to their account here.

    The provider names a person by its issuer and subject (`iss`, `sub`), which never change;
    the e-mail address may, so it links an account only at the first sign-in. `provider` is
    the added provider it came through (None: the environment's, or one since deleted)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    provider = models.ForeignKey(
        IdentityProvider,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="identities",
    )
    created_at = models.DateTimeField()
    last_sign_in_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_issuer_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class AuthenticatorApp(models.Model):
    """A person's authenticator app (TOTP, RFC 6238): its shared secret, encrypted at rest.

    `last_step` is the last 30-second step whose code was accepted: a code works once."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="authenticator")
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField()
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"authenticator app of {self.user.email}"


class RecoveryCode(models.Model):
    """A one-time code for the day the authenticator app is lost; only its SHA-256 is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "digest"], name="recovery_user_digest")]

    def __str__(self) -> str:
        return f"recovery code of {self.user.email}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey on a phone, a laptop or a security key).

    Only its public key is here; `sign_count` is the authenticator's counter, which must grow."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=100)
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"passkey {self.name!r} of {self.user.email}"


class SignInSession(models.Model):
    """A signed-in browser, as its owner sees it on the account page and can end it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    method = models.CharField(max_length=60)
    address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"session of {self.user.email} since {self.created_at:%Y-%m-%d %H:%M}"
