"""Accounts: municipalities' addresses, users and their memberships, password sign-in
and sessions, password links (invitation and reset), sign-in links, and API tokens.

Creating a municipality with its defaults, and signing in by SMS code (which reads the
person register), are the domain's: ``app.domain.municipalities`` and
``app.domain.clerks.signin_codes``.
"""
