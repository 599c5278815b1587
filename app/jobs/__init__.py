"""Background workers, run by ``stemma worker`` (or in the web process by default).

- ``outbox``: delivers queued emails and text messages, each once, retrying with backoff;
  once an hour the same loop also runs reminders and retention, and every minute
  the opening watch.
- ``reminders``: the day-before reminders of course sessions, once per booking.
- ``retention``: erases applications and contact messages past each municipality's
  retention period, people inactive for longer than its period, and erased people's
  pay data once the pay-record period is over.
- ``dispatches``: every minute, sends the scheduled dispatches whose time has come and
  finishes any a worker left half queued.
- ``opening_watch``: every minute, tells station leads and coordinators by push of
  stations still not open after their opening time, once per station and day.

Reminders and retention also run on their own with ``stemma reminders`` and
``stemma retention``; running any of them twice does nothing twice.
"""
