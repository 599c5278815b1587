"""Courses: the training clerks need, its sessions, bookings with a waiting list,
attendance and the qualifications staffing relies on.

``catalog`` holds courses and sessions, ``booking`` seats people (planners and clerks),
``attendance`` records who came and grants qualifications, ``qualifications`` answers
"may this person work in this role", ``notices`` writes the mail and texts, and
``reminders`` the day-before reminders.
"""

from app.core.errors import DomainError


class CourseError(DomainError):
    """A course, session or booking rule was broken; the message says which."""
