"""Page numbers read from a query string, and the page a list shows."""

from app.core.paging import MAX_PAGE, page_number, shown_page

HUGE = "9" * 25


def test_it_reads_a_page_number_within_bounds() -> None:
    assert page_number("3") == 3
    assert [page_number(raw) for raw in (None, "", "0", "-4", "abc", "2.5", "٣")] == [1] * 7
    assert page_number(HUGE) == MAX_PAGE
    assert page_number("9" * 5000) == MAX_PAGE  # past Python's digit limit for int()
    assert shown_page(7, total=120, per_page=50) == 3
    assert shown_page(7, total=0, per_page=50) == 1
