"""Alembic migrations of the Storyarn database (run with `storyarn db upgrade`)."""
