"""Background workers: outbox delivery now; reminders and retention join later."""
