"""The municipality's colour by WCAG 2.1's contrast ratio: the ratio itself, the text on
the colour, the refusal's suggestion and the palette the public site draws with."""

import random
import re
from pathlib import Path

import pytest

from app.domain.models import DEFAULT_BRAND_COLOR
from app.domain.site import colours
from app.domain.site.colours import (
    DARK_INK,
    LIGHT_GROUNDS,
    MINIMUM_RATIO,
    WHITE,
    Palette,
    carries_text,
    contrast_ratio,
    ink_on,
    nearest_carrying_text,
    palette,
    relative_luminance,
)

STYLESHEET = Path(__file__).resolve().parents[3] / "static" / "css" / "stemma.css"
#: The demo's colour (app/demo/recruitment.py), the shipped default and the stylesheet's.
DEMO_COLOURS = ("#1f5f8b", DEFAULT_BRAND_COLOR, "#1d4e89")
#: Colours an office might choose, and the ones the audit found failing.
SAMPLES = (
    "#e07000", "#ffbf47", "#808080", "#777777", "#ffdd00", "#00a0e0", "#d4351c",
    "#00703c", "#ffffff", "#000000", "#aa3300", "#4c2c92", "#f47738", "#28a197",
)  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
        ("#777777", "#ffffff", 4.48),
        ("#ffbf47", "#ffffff", 1.64),  # the old focus ring
        ("#e07000", "#ffffff", 3.24),  # the colour of the audit
        ("#e07000", DARK_INK, 5.12),
        ("#1d4e89", "#ffffff", 8.39),
    ],
)
def test_the_ratio_is_wcags(first: str, second: str, ratio: float) -> None:
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.005)
    assert contrast_ratio(second, first) == contrast_ratio(first, second)


def test_relative_luminance_runs_from_black_to_white() -> None:
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    # sRGB's curve, not a straight line: middle grey is about a fifth as luminous.
    assert relative_luminance("#808080") == pytest.approx(0.2159, abs=0.0001)


def test_text_on_the_colour_is_chosen_by_ratio_not_brightness() -> None:
    # The old rule (perceived brightness over 160) put white on #e07000 (3.24:1).
    assert ink_on("#e07000") == DARK_INK
    assert ink_on("#1d4e89") == WHITE
    assert ink_on("#ffdd00") == DARK_INK
    # Mid-grey: neither white (3.95:1) nor dark (4.19:1) text reaches 4.5:1.
    assert not carries_text("#808080")
    assert carries_text("#e07000")


@pytest.mark.parametrize("colour", DEMO_COLOURS)
def test_the_demos_and_the_default_colours_pass(colour: str) -> None:
    assert carries_text(colour)
    assert palette(colour) == Palette(colour, WHITE, colour, palette(colour).hover)


@pytest.mark.parametrize(
    "colour", ["#808080", "#7a7a7a", "#c06000", "#2e8b57", "#6f8f00", "#9370db"]
)
def test_the_suggestion_is_the_nearest_colour_that_passes(colour: str) -> None:
    suggestion = nearest_carrying_text(colour)
    assert suggestion != colour and carries_text(suggestion)
    assert colours.is_colour(suggestion)
    # Just over the line, not far past it, and the same hue a little darker or lighter.
    assert MINIMUM_RATIO <= contrast_ratio(suggestion, ink_on(suggestion)) < 4.75
    red, green, blue = (int(suggestion[i : i + 2], 16) for i in (1, 3, 5))
    own = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    assert max(abs(a - b) for a, b in zip((red, green, blue), own, strict=True)) < 40


def _assert_passes(drawn: Palette) -> None:
    assert contrast_ratio(drawn.brand, drawn.ink) >= MINIMUM_RATIO, drawn
    assert contrast_ratio(drawn.hover, drawn.ink) >= MINIMUM_RATIO, drawn
    for ground in LIGHT_GROUNDS:
        assert contrast_ratio(drawn.text, ground) >= MINIMUM_RATIO, (drawn, ground)


def test_every_palette_passes_for_the_samples_and_random_colours() -> None:
    chosen = random.Random(27)  # seeded: the same colours each run
    randoms = [f"#{chosen.randrange(0x1000000):06x}" for _ in range(400)]
    refused = 0
    for colour in (*SAMPLES, *randoms):
        drawn = palette(colour)
        _assert_passes(drawn)
        # A colour that carries text is drawn as it is: only links get a darker shade.
        assert (drawn.brand == colour) == carries_text(colour)
        refused += not carries_text(colour)
    # About one colour in ten lies in the band where neither white nor dark text reads.
    assert 0 < refused < len(randoms) / 4


def test_the_stylesheets_defaults_pass() -> None:
    css = STYLESHEET.read_text()
    variables = dict(re.findall(r"--(brand[a-z-]*|ink|paper|wash): (#[0-9a-f]{6})", css))
    drawn = Palette(
        brand=variables["brand"],
        ink=variables["brand-ink"],
        text=variables["brand-text"],
        hover=variables["brand-hover"],
    )
    _assert_passes(drawn)
    assert variables["wash"] == LIGHT_GROUNDS[1] and variables["ink"] == DARK_INK


def test_the_focus_ring_has_two_colours_far_apart() -> None:
    """Technique C40: two rings at least 9:1 apart, so one reaches 3:1 on any ground."""
    css = STYLESHEET.read_text()
    outer = re.search(r"--focus-ring: (#[0-9a-f]{6})", css)
    inner = re.search(r"--focus-ring-inner: (#[0-9a-f]{6})", css)
    assert outer and inner
    assert contrast_ratio(outer[1], inner[1]) >= 9
    for ground in ("#ffffff", "#f3f5f8", "#1d4e89", "#e07000", "#ffdd00", "#808080"):
        assert max(contrast_ratio(outer[1], ground), contrast_ratio(inner[1], ground)) >= 3
    rule = re.search(r"\n([^{}]*summary:focus-visible[^{}]*)\{([^}]*)\}", css)
    assert rule, "summary elements get the ring"
    assert "var(--focus-ring)" in rule[2] and "var(--focus-ring-inner)" in rule[2]
