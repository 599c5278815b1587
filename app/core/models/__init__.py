"""All models, imported here so Alembic and the scoping hook see every table."""

from app.core.models.accounts import (
    ApiToken,
    AuthSession,
    Membership,
    PasswordResetToken,
    RateLimitEvent,
    Tenant,
    User,
)
from app.core.models.audit import AuditEntry
from app.core.models.base import Base, TenantScoped, utcnow
from app.core.models.events import Event, RealtimeTicket
from app.core.models.outbox import (
    DELIVERY_STATES,
    OUTBOX_STATUSES,
    MessageSender,
    OutboxMessage,
)
from app.core.models.push import PushSubscription
from app.core.models.second_factor import RecoveryCode, RememberedDevice, SecondFactor
from app.core.models.signin import SignInToken

__all__ = [
    "DELIVERY_STATES",
    "OUTBOX_STATUSES",
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Event",
    "Membership",
    "MessageSender",
    "OutboxMessage",
    "PasswordResetToken",
    "PushSubscription",
    "RateLimitEvent",
    "RealtimeTicket",
    "RecoveryCode",
    "RememberedDevice",
    "SecondFactor",
    "SignInToken",
    "Tenant",
    "TenantScoped",
    "User",
    "utcnow",
]
