"""How near a person is to a station when their distance is unknown.

A person without coordinates (an applicant from the public site is one until their
address is placed) is never left out of staffing: what is known stands in for the
distance. A district they wished is as good as near; else the postcode, whose leading
digits name an area (Swedish ``226 49``: ``226`` Lund's part, ``22`` the region; Danish
codes likewise narrow from the left); else nothing is known and the person comes after
those who are placed, but still comes.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Leading digits of two postcodes that make one postcode area, and one region.
AREA_DIGITS = 3
REGION_DIGITS = 2
#: The distance (km) each kind of knowledge stands for when ranking: a wished district
#: or the same postcode area as near, the same region as a drive, nothing known as far
#: (after everyone placed within reach), a district not wished as farther still.
WISHED_KM = 0.0
AREA_KM = 5.0
REGION_KM = 20.0
UNKNOWN_KM = 100.0
NOT_WISHED_KM = 200.0


def postcode_digits(code: str) -> str:
    """The digits of a postcode (``"226 49"`` -> ``"22649"``)."""
    return "".join(c for c in code if c.isdigit())


def shared_postcode_digits(a: str, b: str) -> int:
    """How many leading digits two postcodes share, up to ``AREA_DIGITS`` (0 when
    either is unknown)."""
    a, b = postcode_digits(a), postcode_digits(b)
    shared = 0
    for x, y in zip(a[:AREA_DIGITS], b[:AREA_DIGITS], strict=False):
        if x != y:
            break
        shared += 1
    return shared


@dataclass(frozen=True)
class Nearness:
    """What is known of how near a person lives to a station."""

    #: The great-circle distance, when both have coordinates.
    km: float | None
    #: True when the station's district is among the person's wishes, False when they
    #: wished others, None when they wished none (or the station has no district).
    wished: bool | None = None
    #: Leading postcode digits shared with the station's building.
    postcode: int = 0

    @property
    def estimate_km(self) -> float:
        """The distance to rank by: the real one, or what the known facts stand for."""
        if self.km is not None:
            return self.km
        if self.wished is True:
            return WISHED_KM
        if self.postcode >= AREA_DIGITS:
            return AREA_KM
        if self.wished is False:
            return NOT_WISHED_KM
        if self.postcode >= REGION_DIGITS:
            return REGION_KM
        return UNKNOWN_KM

    @property
    def same_area(self) -> bool:
        return self.postcode >= AREA_DIGITS

    @property
    def same_region(self) -> bool:
        return REGION_DIGITS <= self.postcode < AREA_DIGITS


#: Nothing known: no coordinates, no wish, no postcode.
NOTHING_KNOWN = Nearness(None)
