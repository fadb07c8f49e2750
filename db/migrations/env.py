"""Alembic environment: runs on the connection pricewatch hands it (see db.session.upgrade)."""

from alembic import context

from db.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # the `alembic` CLI, for writing new migrations
        from db.session import database_url, make_engine

        engine = make_engine(database_url(config.get_main_option("sqlalchemy.url")))
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


run()
