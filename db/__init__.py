"""The archive: SQLAlchemy models, sessions, migrations and the read side."""
