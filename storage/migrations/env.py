"""Alembic environment: the application hands over its connection, or an admin runs alembic.

By hand (`alembic -c storage/alembic.ini upgrade head`) the database is the app's own
`DATABASE_URL` (the environment, then `.env`), and the migration runs under the same lock and
guard as `ldn-bot migrate`: no cascade, foreign keys checked, everything rolled back if a row
would be lost.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from bot.app.settings import load_settings
from storage.db import Database, guarded
from storage.models import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _by_hand() -> None:
    db = Database(load_settings().database_url)
    try:
        async with db.engine.connect() as connection:
            await connection.run_sync(guarded, _run)
    finally:
        await db.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    _run(handed_over)
elif context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run them on the database.")
else:
    if context.config.config_file_name is not None:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_by_hand())
