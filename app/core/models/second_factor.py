"""A second factor for signing in: an authenticator app (TOTP), its recovery codes, and
the browsers a user asked us to remember.

Not tenant-scoped: users are global (one account may belong to several
municipalities), like their sessions and sign-in tokens.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, utcnow


class SecondFactor(Base):
    """A user's authenticator app. The shared secret is encrypted (``FieldCipher``).

    Written when a first correct code confirms the enrolment (until then the enrolling
    browser holds the secret); only a row with ``confirmed_at`` counts.
    ``last_used_step`` is the TOTP time step of the last code accepted, so a code seen
    once (over a shoulder, in a proxy log) cannot be used again.
    """

    __tablename__ = "second_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="totp")
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """One single-use code for when the authenticator is lost. Only a keyed hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class RememberedDevice(Base):
    """A browser that may skip the second step for a while. The cookie carries a random
    token signed together with the user's id; only the token's hash is kept here, and
    deleting the row (forget, reset) ends it whatever the cookie says."""

    __tablename__ = "remembered_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
