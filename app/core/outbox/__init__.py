"""The outbox: mail, text messages and web pushes written in the change's transaction
and delivered by the worker."""
