"""The schema: Alembic's migrations, the models, and the start-up check that skips Alembic."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from db.models import Base
from db.session import MIGRATIONS, Database, head_revision
from pipeline.errors import DatabaseUnavailable


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_head_revision_is_alembics_head():
    assert [head_revision()] == ScriptDirectory(str(MIGRATIONS)).get_heads()


def test_migrations_build_what_the_models_describe(db):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_older_schema_is_upgraded_when_opened(db_url):
    Database(db_url).dispose()
    older = Database(db_url, migrate=False)
    with older.engine.begin() as connection:
        downgrade(alembic_config(connection), "0003")
    with older.engine.connect() as connection:
        assert "alert_watermark" not in inspect(connection).get_table_names()
    older.dispose()

    reopened = Database(db_url)
    with reopened.engine.connect() as connection:
        assert "alert_watermark" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
    reopened.dispose()


def test_an_archive_from_a_newer_pricewatch_is_refused_untouched(db_url):
    """A downgraded pricewatch must not run Alembic over a schema it does not know (that
    crashed with Alembic's own traceback), nor write to it."""
    Database(db_url).dispose()
    newer = Database(db_url, migrate=False)
    with newer.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer.dispose()

    with pytest.raises(DatabaseUnavailable, match="schema is at revision 9999, newer than this pricewatch knows"):
        Database(db_url)
    untouched = Database(db_url, migrate=False)
    with untouched.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9999"
    untouched.dispose()
