"""The second factor's services: enrolment, codes, replay, drift, recovery codes,
remembered browsers, the policy and an administrator's reset."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts import remembered_devices, second_factor, second_factor_admin
from app.core.accounts.second_factor import SecondFactorError
from app.core.audit import Actor
from app.core.crypto import FieldCipher
from app.core.errors import NotFound
from app.core.models import (
    AuditEntry,
    AuthSession,
    Membership,
    OutboxMessage,
    RecoveryCode,
    RememberedDevice,
    SecondFactor,
    Tenant,
    User,
)
from app.core.ratelimit import RateLimited
from app.core.tenancy import tenant_scope
from tests import factories

CIPHER = FieldCipher("test-secret-key-that-is-long-enough-0123456789")
IP = "192.0.2.7"
#: A moment in the middle of a 30-second step, after the steps an enrolment now uses.
NOW = datetime.fromtimestamp((int(time.time()) // 30) * 30 + 15, UTC) + timedelta(hours=1)


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


async def _enrolled(db: AsyncSession, user: User) -> tuple[str, list[str]]:
    enrolment = second_factor.new_enrolment(CIPHER, user)
    codes = await second_factor.confirm_enrolment(
        db,
        CIPHER,
        Actor.for_user(user),
        user,
        enrolment.sealed,
        pyotp.TOTP(enrolment.secret).now(),
        IP,
    )
    return enrolment.secret, codes


async def _verify(db: AsyncSession, user: User, code: str, **kwargs: Any) -> Any:
    return await second_factor.verify_second_factor(db, CIPHER, user, code, IP, **kwargs)


@pytest.fixture
async def strict_tenant(db: AsyncSession) -> Tenant:
    return await factories.make_tenant(db, slug="umea", second_factor_policy="required")


async def test_it_enrols_with_a_first_code_and_keeps_the_secret_encrypted(
    db: AsyncSession, planner: User
) -> None:
    enrolment = second_factor.new_enrolment(CIPHER, planner)
    assert enrolment.uri.startswith("otpauth://totp/Stemma:")
    assert enrolment.secret not in enrolment.sealed
    # Nothing is stored before the first code is right.
    assert await db.scalar(select(SecondFactor.id)) is None

    async def confirm(code: str, sealed: str = enrolment.sealed) -> list[str]:
        return await second_factor.confirm_enrolment(
            db, CIPHER, Actor.for_user(planner), planner, sealed, code, IP
        )

    with pytest.raises(SecondFactorError):
        await confirm("000000")
    assert not await second_factor.has_second_factor(db, planner.id)
    assert await db.scalar(select(SecondFactor.id)) is None
    stranger = FieldCipher("another-secret-key-that-is-long-enough-987654")
    with pytest.raises(SecondFactorError):
        await confirm("000000", stranger.encrypt(enrolment.secret))

    codes = await confirm(pyotp.TOTP(enrolment.secret).now())
    assert len(codes) == len(set(codes)) == 10
    assert await second_factor.has_second_factor(db, planner.id)
    stored = await db.scalar(select(SecondFactor.secret_encrypted))
    assert stored is not None and enrolment.secret not in stored
    assert CIPHER.decrypt(stored) == enrolment.secret
    hashes = set(await db.scalars(select(RecoveryCode.code_hash)))
    assert not hashes & set(codes)
    # A second enrolment is refused while the first is on.
    with pytest.raises(SecondFactorError):
        await confirm(pyotp.TOTP(enrolment.secret).at(int(time.time()) + 30))


async def test_enrolling_ends_the_users_other_sessions(
    client: Any, db: AsyncSession, planner: User
) -> None:
    await factories.login(client, planner)
    assert await db.scalar(select(AuthSession.id).where(AuthSession.user_id == planner.id))
    await _enrolled(db, planner)
    assert await db.scalar(select(AuthSession.id).where(AuthSession.user_id == planner.id)) is None


async def test_it_accepts_a_code_once_and_refuses_it_replayed(
    db: AsyncSession, planner: User
) -> None:
    secret, _codes = await _enrolled(db, planner)
    later = NOW + timedelta(days=1)
    code = _code(secret, later)
    assert (await _verify(db, planner, code, now=later)).method == "totp"
    with pytest.raises(SecondFactorError, match="redan använts"):
        await _verify(db, planner, code, now=later)
    # The next step's code works.
    following = later + timedelta(seconds=30)
    assert (await _verify(db, planner, _code(secret, following), now=following)).method == "totp"


async def test_it_allows_one_step_of_drift_either_way_and_no_more(
    db: AsyncSession, planner: User
) -> None:
    secret, _codes = await _enrolled(db, planner)
    moment = NOW + timedelta(days=2)
    with pytest.raises(SecondFactorError):
        await _verify(db, planner, _code(secret, moment - timedelta(seconds=60)), now=moment)
    with pytest.raises(SecondFactorError):
        await _verify(db, planner, _code(secret, moment + timedelta(seconds=60)), now=moment)
    await _verify(db, planner, _code(secret, moment - timedelta(seconds=30)), now=moment)
    await _verify(db, planner, _code(secret, moment + timedelta(seconds=30)), now=moment)
    # The step before the last one accepted is refused, although within the drift.
    with pytest.raises(SecondFactorError):
        await _verify(db, planner, _code(secret, moment), now=moment)


async def test_a_recovery_code_works_once(db: AsyncSession, planner: User) -> None:
    _secret, codes = await _enrolled(db, planner)
    assert await second_factor.unused_recovery_codes(db, planner.id) == 10
    # Typed in capitals and without the dashes, as people do.
    typed = codes[3].replace("-", " ").upper()
    assert (await _verify(db, planner, typed)).method == "recovery"
    assert await second_factor.unused_recovery_codes(db, planner.id) == 9
    with pytest.raises(SecondFactorError):
        await _verify(db, planner, codes[3])
    renewed = await second_factor.regenerate_recovery_codes(db, Actor.for_user(planner), planner)
    with pytest.raises(SecondFactorError):
        await _verify(db, planner, codes[4])
    assert (await _verify(db, planner, renewed[0])).method == "recovery"


async def test_it_limits_wrong_codes_per_account(db: AsyncSession, planner: User) -> None:
    secret, _codes = await _enrolled(db, planner)
    for _attempt in range(second_factor.CODES_PER_ACCOUNT.max_events):
        with pytest.raises(SecondFactorError):
            await _verify(db, planner, "123456" if _code(secret, NOW) != "123456" else "654321")
    # Even the right code waits now: the guesser learns nothing from it.
    with pytest.raises(RateLimited):
        await _verify(db, planner, pyotp.TOTP(secret).now())


async def test_a_remembered_browser_skips_the_second_step_until_forgotten(
    db: AsyncSession, planner: User
) -> None:
    secret, _codes = await _enrolled(db, planner)
    moment = NOW + timedelta(days=3)
    done = await _verify(db, planner, _code(secret, moment), now=moment, remember_as="Firefox")
    assert done.device_token
    assert await remembered_devices.next_step_after_password(db, planner, None) == "verify"
    assert (
        await remembered_devices.next_step_after_password(db, planner, done.device_token)
        == "sign_in"
    )
    stored = await db.scalar(select(RememberedDevice))
    assert stored is not None and stored.token_hash != done.device_token

    device_id = stored.id
    await remembered_devices.forget_device(db, Actor.for_user(planner), planner, device_id)
    assert (
        await remembered_devices.next_step_after_password(db, planner, done.device_token)
        == "verify"
    )


async def test_a_remembered_browser_expires_after_30_days(db: AsyncSession, planner: User) -> None:
    secret, _codes = await _enrolled(db, planner)
    moment = NOW + timedelta(days=4)
    done = await _verify(db, planner, _code(secret, moment), now=moment, remember_as="Chrome")
    await factories.shift_back(db, RememberedDevice, "expires_at", timedelta(days=30))
    assert (
        await remembered_devices.next_step_after_password(db, planner, done.device_token)
        == "verify"
    )
    assert await db.scalar(select(RememberedDevice.id)) is None


async def test_a_device_is_remembered_for_its_user_only(
    db: AsyncSession, tenant: Tenant, planner: User, coordinator: User
) -> None:
    secret, _codes = await _enrolled(db, planner)
    await _enrolled(db, coordinator)
    moment = NOW + timedelta(days=5)
    done = await _verify(db, planner, _code(secret, moment), now=moment, remember_as="Chrome")
    assert (
        await remembered_devices.next_step_after_password(db, coordinator, done.device_token)
        == "verify"
    )
    device = await db.scalar(select(RememberedDevice))
    assert device is not None
    with pytest.raises(NotFound):
        await remembered_devices.forget_device(
            db, Actor.for_user(coordinator), coordinator, device.id
        )


async def test_the_policy_requires_it_of_planners_and_admins_only(
    db: AsyncSession, strict_tenant: Tenant, tenant: Tenant
) -> None:
    planner = await factories.make_user(db, strict_tenant, "planner")
    admin = await factories.make_user(db, strict_tenant, "admin")
    coordinator = await factories.make_user(db, strict_tenant, "coordinator")
    relaxed_planner = await factories.make_user(db, tenant, "planner")
    step = remembered_devices.next_step_after_password
    assert await step(db, planner, None) == "enrol"
    assert await step(db, admin, None) == "enrol"
    assert await step(db, coordinator, None) == "sign_in"
    assert await step(db, relaxed_planner, None) == "sign_in"
    # A coordinator who chose to enrol takes the second step too.
    await _enrolled(db, coordinator)
    assert await step(db, coordinator, None) == "verify"
    # A planner cannot turn it off where it is required; a coordinator can.
    await _enrolled(db, planner)
    with pytest.raises(SecondFactorError):
        await second_factor.turn_off_second_factor(db, Actor.for_user(planner), planner, None)
    await second_factor.turn_off_second_factor(db, Actor.for_user(coordinator), coordinator, None)
    assert await step(db, coordinator, None) == "sign_in"


async def test_changing_the_policy_is_audited(db: AsyncSession, strict_tenant: Tenant) -> None:
    admin = await factories.make_user(db, strict_tenant, "admin")
    with tenant_scope(strict_tenant.id):
        await second_factor_admin.set_second_factor_policy(
            db, Actor.for_user(admin), strict_tenant, "optional"
        )
        with pytest.raises(SecondFactorError):
            await second_factor_admin.set_second_factor_policy(
                db, Actor.for_user(admin), strict_tenant, "sometimes"
            )
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "tenancy.second_factor_policy.changed")
        )
    assert entry is not None and entry.data == {"from": "required", "to": "optional"}
    assert strict_tenant.second_factor_policy == "optional"


async def _membership(db: AsyncSession, tenant: Tenant, user: User) -> Membership:
    with tenant_scope(tenant.id):
        membership = await db.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None
    return membership


async def test_an_admin_reset_removes_everything_is_audited_and_mailed(
    client: Any, db: AsyncSession, tenant: Tenant, admin: User, planner: User
) -> None:
    secret, _codes = await _enrolled(db, planner)
    moment = NOW + timedelta(days=6)
    await _verify(db, planner, _code(secret, moment), now=moment, remember_as="Chrome")
    await factories.login(client, planner)
    membership = await _membership(db, tenant, planner)
    with tenant_scope(tenant.id):
        await second_factor_admin.reset_second_factor(
            db, Actor.for_user(admin), membership.id, "sv"
        )
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "accounts.second_factor.reset")
        )
        mail = await db.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == planner.email)
        )
    for model in (SecondFactor, RecoveryCode, RememberedDevice, AuthSession):
        assert await db.scalar(select(model.id).where(model.user_id == planner.id)) is None
    assert entry is not None
    assert entry.actor_user_id == admin.id and entry.object_id == str(planner.id)
    assert entry.data == {"had_one": True}
    assert secret not in str(entry.data)
    assert mail is not None and "återställt" in (mail.body_text or "")


async def test_an_admin_cannot_reset_another_municipalitys_member(
    db: AsyncSession, tenant: Tenant, planner: User, outsider: User, other_tenant: Tenant
) -> None:
    await _enrolled(db, planner)
    membership = await _membership(db, tenant, planner)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await second_factor_admin.reset_second_factor(
            db, Actor.for_user(outsider), membership.id, "sv"
        )
    assert await second_factor.has_second_factor(db, planner.id)
