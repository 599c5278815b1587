"""The municipality's colour and the text on it, judged by WCAG 2.1's contrast ratio.

The public site draws the colour in three ways: as a background with text on it (the
header, primary buttons), inverted (the header's "Apply now", the current language),
and as text on light backgrounds (links, outlined buttons). Text on the colour is white
or the site's dark ink, whichever contrasts more; a colour on which neither reaches
4.5:1 cannot carry text, so saving it is refused with the nearest colour that can.
As text on white a light colour (yellow, orange) is too faint, so links use a darker
shade of it, found here, while the header keeps the colour itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

WHITE = "#ffffff"
#: The site's ink (`--ink` in stemma.css): dark text on light colours.
DARK_INK = "#1b1f24"
#: WCAG 2.1 AA for normal text (1.4.3); large text and components need only 3:1.
MINIMUM_RATIO = 4.5
#: The light backgrounds the colour is drawn on as text: cards, the page's wash and
#: the pale badge behind "new" (stemma.css); a link must read on each of them.
LIGHT_GROUNDS = ("#ffffff", "#f3f5f8", "#e6eefb")
#: How far a button's hover shade moves from the colour, away from its text.
HOVER_STEP = 0.15

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

RGB = tuple[int, int, int]


def is_colour(text: str) -> bool:
    """Whether ``text`` is a colour as the settings store it: ``#rrggbb``."""
    return bool(_HEX.match(text))


def _rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of a ``#rrggbb`` colour, 0 (black) to 1 (white).

    (WCAG's text gives 0.03928 as the threshold, sRGB's is 0.04045; no 8-bit channel
    falls between them, so both give the same value.)"""
    red, green, blue = (_linear(channel) for channel in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1's contrast ratio of two colours, from 1 (equal) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def ink_on(colour: str) -> str:
    """The text colour for ``colour`` as a background: white or the dark ink, whichever
    contrasts more (at most one of them reaches 4.5:1 on any colour)."""
    return max((WHITE, DARK_INK), key=lambda ink: contrast_ratio(colour, ink))


def carries_text(colour: str) -> bool:
    """Whether text on ``colour`` (white or dark) reaches 4.5:1."""
    return contrast_ratio(colour, ink_on(colour)) >= MINIMUM_RATIO


def _mix(colour: str, towards: str, share: float) -> str:
    (red, green, blue), (to_red, to_green, to_blue) = _rgb(colour), _rgb(towards)
    return _hex(
        (
            round(red + (to_red - red) * share),
            round(green + (to_green - green) * share),
            round(blue + (to_blue - blue) * share),
        )
    )


def _first_passing(colour: str, towards: str, passes: Callable[[str], bool]) -> str:
    """The least mix of ``colour`` towards ``towards`` (in steps of 1/255) that passes;
    the end colour itself passes every test asked here."""
    for step in range(256):
        candidate = _mix(colour, towards, step / 255)
        if passes(candidate):
            return candidate
    return towards


def _distance(first: str, second: str) -> float:
    return sum((a - b) ** 2 for a, b in zip(_rgb(first), _rgb(second), strict=True)) ** 0.5


def nearest_carrying_text(colour: str) -> str:
    """``colour`` itself when text on it reaches 4.5:1, else the nearer of its darker
    shade (white text) and its lighter tint (dark text) that does, same hue."""
    if carries_text(colour):
        return colour
    darker = _first_passing(colour, "#000000", carries_text)
    lighter = _first_passing(colour, WHITE, carries_text)
    return min((darker, lighter), key=lambda other: _distance(colour, other))


def readable_on_light(colour: str) -> bool:
    """Whether ``colour`` as text reaches 4.5:1 on every light background of the site."""
    return all(contrast_ratio(colour, ground) >= MINIMUM_RATIO for ground in LIGHT_GROUNDS)


@dataclass(frozen=True)
class Palette:
    """The CSS variables the public site draws with, each pair at least 4.5:1."""

    brand: str  # backgrounds: the header, primary buttons
    ink: str  # text on `brand`, and `brand` on it (inverted buttons, current language)
    text: str  # `brand` as text on light backgrounds: links, outlined buttons
    hover: str  # a primary button under the pointer, still with `ink` on it

    def css(self) -> str:
        return (
            f":root {{ --brand: {self.brand}; --brand-ink: {self.ink}; "
            f"--brand-text: {self.text}; --brand-hover: {self.hover}; }}\n"
        )


def palette(colour: str) -> Palette:
    """The site's colours from the saved one. A colour saved before the rule (or any
    colour that cannot carry text) is drawn as the nearest one that can."""
    brand = nearest_carrying_text(colour)
    ink = ink_on(brand)
    text = (
        brand if readable_on_light(brand) else _first_passing(brand, "#000000", readable_on_light)
    )
    # Away from the ink: darker under white text, lighter under dark; the ratio only grows.
    hover = _mix(brand, "#000000" if ink == WHITE else WHITE, HOVER_STEP)
    return Palette(brand=brand, ink=ink, text=text, hover=hover)
