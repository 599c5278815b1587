"""A municipality's data as an archive that can leave the instance and come back.

``export.py`` writes every row of one municipality (and the accounts of its users) to a
``.tar.gz`` of JSON Lines files with a manifest; ``restore.py`` reads one into an
instance at the same schema version, under its own slug or a new one, with new ids
and in one transaction. ``policy.py`` says what of each table travels; the format is
documented in ``docs/tenant-archive.md``.
"""
