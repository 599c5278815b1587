"""Courses: the training clerks need, its sessions, bookings with a waiting list,
attendance and the qualifications staffing relies on.

- ``catalog``: courses, and sessions as read (with how full each is)
- ``scheduling``: creating, changing and cancelling a session
- ``seats``: the seat lock and the seat count every booking rule starts from
- ``booking``: seating a person (by a planner or the clerk), or on the waiting list
- ``booking_changes``: moving a booking to another session, cancelling it
- ``waiting_list``: the first waiting moving up to a freed seat
- ``bulk_booking``: a station's team or every untrained clerk at once
- ``attendance``: the roll call and walk-ins; attending grants the course
- ``results_import``: online course and test results from a file
- ``qualifications``: "may this person work in this role"
- ``my_courses``: a clerk's own courses, for the portal
- ``notices`` and ``reminders``: the mail and texts, and the day-before reminders
- ``reports`` and ``attendance_pdf``: the course reports and the list to sign
"""

from app.core.errors import DomainError


class CourseError(DomainError):
    """A course, session or booking rule was broken; the message says which."""
