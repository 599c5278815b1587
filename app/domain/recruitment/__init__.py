"""Recruiting clerks: applications, the office's review of them, contact messages."""
