"""The municipality's public site: its editable pages and text blocks."""
