"""Who may not work an election: the candidates the authority published, matched to
the register, and the municipality's own exclusions with their reasons.

Both are hard rules for staffing: a person matched to a candidate of an election is
never placed at one of its stations (every station of an election receives votes in
it), and a person the municipality has excluded is placed nowhere.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

#: How a candidate row met a person: by the whole identity number, or by name and
#: birth date (the published files often carry no number: a person reviews it).
MATCH_KINDS = ("national_id", "name_birth_date")


class CandidateList(TenantScoped, Base):
    """One imported file of an election's candidates."""

    __tablename__ = "candidate_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Candidate(TenantScoped, Base):
    """A candidate as the file named them, and the person in the register they match.

    The identity number is not kept: only what matched (the person) and how."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("candidate_lists.id", ondelete="CASCADE"), index=True
    )
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    row: Mapped[int] = mapped_column(Integer)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    party: Mapped[str] = mapped_column(String(200), default="")
    list_name: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    matched_by: Mapped[str] = mapped_column(String(16), default="")
    #: A likely match (name and birth date) the office looked at and found to be
    #: someone else: the person is no longer kept off by this row.
    dismissed_at: Mapped[dt.datetime | None]
    dismissed_by_label: Mapped[str] = mapped_column(String(254), default="")
    dismissal_reason: Mapped[str] = mapped_column(String(500), default="")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def dismissed(self) -> bool:
        return self.dismissed_at is not None


class PersonExclusion(TenantScoped, Base):
    """The municipality's own decision that a person may not work its elections."""

    __tablename__ = "person_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
