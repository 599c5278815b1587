"""The registers: people, buildings and rooms, role types, availability, imports."""
