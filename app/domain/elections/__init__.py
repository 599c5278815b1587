"""Elections and their structure: districts, stations, hours, shifts and norms,
staffing templates, and rolling over to the next election."""
