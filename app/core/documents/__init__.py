"""Documents every feature makes: PDF reports, tables, CSV and XLSX files."""
