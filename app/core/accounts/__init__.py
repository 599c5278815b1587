"""Accounts: municipalities, users and their memberships, passwords, sign-in
without a password, and API tokens."""
