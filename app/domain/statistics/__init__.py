"""The statistics of an election: the numbers the office steers by, as plain rows the
planning face draws as charts and tables and hands out as CSV and Excel.

- ``history``: places filled week by week before election day, against the norm
- ``people``: the recruitment funnel, first-timers and experienced, languages
- ``demographics``: age groups and legal sex, small groups suppressed (``suppression``)
- ``readiness``: course completion per role, no-shows per district
- ``budgets``: the office's pay budget per role and district, and pay against it
"""

from app.core.errors import DomainError


class StatisticsError(DomainError):
    """A budget the office entered cannot be saved; the message says why."""
