"""Reminders that run themselves, set per election: the shift coming up (mail and SMS,
some days before), the evening before election day (SMS), the morning of the shift
(a wake-up SMS), and an offer not answered (mail and SMS). Each goes to every person
with an accepted place (an open offer for the last) once per occasion, at its local
time in the municipality; a window the worker missed is skipped, never sent late at
night. The worker runs them every minute (``app.jobs.election_reminders``)."""
