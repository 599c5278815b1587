"""Staffing: assignments and their rules, the reserve pool, teams kept across elections,
the staffing board and offers to clerks."""
