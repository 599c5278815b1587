"""What a dispatch would do if it were sent now: how many messages per channel, who is
left out and why, how many parts the text messages take and what they cost, and one
recipient's messages as they will read them.

Every text message is rendered for the count (a merge field can push one recipient's
message into a second part); a group of 15,000 takes well under a second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.outbox.sms_length import sms_length
from app.domain.dispatches.filters import Candidate
from app.domain.dispatches.queueing import left_out_reason
from app.domain.dispatches.sending import candidates_of
from app.domain.dispatches.texts import FieldMaker, FieldRow, Texts
from app.domain.models import Dispatch

#: The left-out people listed by name (the counts cover all of them).
LEFT_OUT_SHOWN = 200


@dataclass(frozen=True)
class Sample:
    """One recipient's message on one channel."""

    channel: str
    address: str
    subject: str
    text: str


@dataclass(frozen=True)
class LeftOut:
    name: str
    channel: str
    reason: str


@dataclass
class Preview:
    people: int
    #: Messages to send per channel.
    to_send: dict[str, int] = field(default_factory=dict)
    #: Left out per channel and reason.
    left_out_counts: dict[str, Counter[str]] = field(default_factory=dict)
    left_out: list[LeftOut] = field(default_factory=list)
    sms_parts_total: int = 0
    sms_parts_min: int = 0
    sms_parts_max: int = 0
    #: Texts that are UCS-2 (a character outside GSM-7), and the characters that did it.
    sms_unicode: int = 0
    non_gsm: tuple[str, ...] = ()
    cost: Decimal = Decimal(0)
    samples: list[Sample] = field(default_factory=list)
    sample_key: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def left_out_total(self) -> int:
        return sum(sum(c.values()) for c in self.left_out_counts.values())


def _field_row(candidate: Candidate) -> FieldRow:
    return FieldRow(
        name=candidate.name,
        first_name=candidate.first_name,
        locale=candidate.locale,
        station_id=candidate.station_id,
        shift_id=candidate.shift_id,
        role_type_id=candidate.role_type_id,
    )


def _channels(dispatch: Dispatch, candidate: Candidate) -> list[str]:
    return [candidate.channel] if candidate.channel else list(dispatch.channels)


async def preview(
    session: AsyncSession,
    dispatch: Dispatch,
    base_url: str,
    price_per_part: Decimal,
    sample_key: str | None = None,
) -> Preview:
    """The counts, parts and cost of sending ``dispatch`` now, and the messages of the
    recipient ``sample_key`` (else the first with an address)."""
    candidates = await candidates_of(session, dispatch)
    texts = await Texts.of(session, dispatch)
    maker = await FieldMaker.of(session, dispatch, base_url)
    rows = [_field_row(c) for c in candidates]
    await maker.load(session, rows)
    result = Preview(people=len({c.recipient_key for c in candidates}))
    parts: list[int] = []
    non_gsm: dict[str, None] = {}
    for candidate, row in zip(candidates, rows, strict=True):
        for channel in _channels(dispatch, candidate):
            reason = left_out_reason(candidate, channel)
            if reason is not None:
                result.left_out_counts.setdefault(channel, Counter())[reason] += 1
                if len(result.left_out) < LEFT_OUT_SHOWN:
                    result.left_out.append(LeftOut(candidate.name, channel, reason))
                continue
            result.to_send[channel] = result.to_send.get(channel, 0) + 1
            if channel == "sms":
                shared_key, shared = maker.shared(row)
                _subject, text, _html = texts.render_shared(
                    "sms", candidate.locale, shared_key, shared, row.first_name, row.name
                )
                length = sms_length(text)
                parts.append(length.parts)
                if length.encoding == "ucs2":
                    result.sms_unicode += 1
                    non_gsm.update(dict.fromkeys(length.non_gsm))
    if parts:
        result.sms_parts_total = sum(parts)
        result.sms_parts_min, result.sms_parts_max = min(parts), max(parts)
        result.cost = (price_per_part * result.sms_parts_total).quantize(Decimal("0.01"))
    result.non_gsm = tuple(non_gsm)
    _samples(dispatch, candidates, rows, texts, maker, result, sample_key)
    return result


def _samples(
    dispatch: Dispatch,
    candidates: list[Candidate],
    rows: list[FieldRow],
    texts: Texts,
    maker: FieldMaker,
    result: Preview,
    sample_key: str | None,
) -> None:
    reachable = [
        (c, r)
        for c, r in zip(candidates, rows, strict=True)
        if any(left_out_reason(c, ch) is None for ch in _channels(dispatch, c))
    ]
    result.choices = list({c.recipient_key: c.name for c, _row in reachable[:100]}.items())
    chosen = next((pair for pair in reachable if pair[0].recipient_key == sample_key), None)
    if chosen is None and reachable:
        chosen = reachable[0]
    if chosen is None:
        return
    candidate, row = chosen
    result.sample_key = candidate.recipient_key
    for channel in _channels(dispatch, candidate):
        if left_out_reason(candidate, channel) is not None:
            continue
        subject, text, _html = texts.render(channel, candidate.locale, maker.fields(row))
        address = (candidate.email if channel == "email" else candidate.mobile) or ""
        result.samples.append(Sample(channel, address, subject, text))
