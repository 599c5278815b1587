"""One-time ways in without a password: a link sent by email, a code sent by SMS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, JSONType, utcnow

SIGNIN_KINDS = ("link", "code")


class SignInToken(Base):
    """A single-use, expiring sign-in by link or by code. Only hashes are stored.

    A link is found by the SHA-256 of its token. A code's row is found by the SHA-256 of
    the pending-login token kept in the requester's signed session cookie; the six digits
    themselves are kept as an HMAC keyed with the secret key over that pending token and
    the code, since a plain hash of six digits is guessed in a moment.

    Not tenant-scoped: users are global, like password reset tokens. A row without a
    user stands for a request about an unknown account; it behaves like any other code
    (tries counted, expires) so the answers do not tell accounts apart, and never works.
    """

    __tablename__ = "signin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: Wrong codes typed so far; the code stops working at ``MAX_CODE_TRIES``.
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: A code sent to a mobile number that several accounts share (a family's phone, or
    #: the same person in two municipalities): the accounts it may open. The right code
    #: sets ``verified_at``; the clerk then chooses one of them, which uses it up.
    choices: Mapped[list[int] | None] = mapped_column(JSONType)
    verified_at: Mapped[datetime | None]
