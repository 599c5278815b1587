"""The platform every face and the domain stand on: settings, the database and its tenant
rule, accounts, permissions, CSRF, rate limits, audit, i18n, errors, the outbox, documents."""
