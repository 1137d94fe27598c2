"""The training history: one SQLite file with sessions, their steps, beats and intervals, and
baselines.

Where: ``--db PATH``, else ``$CADENCE_DB``, else ``platformdirs.user_data_dir("cadence")/cadence.db``.

- ``schema``: tables, migrations, how times and figures are stored;
- ``database``: the file (open, pragmas, damage check, migration, transactions);
- ``history``: :class:`Store`, the history's reads and writes;
- ``figures``: a session's headline figures and the weekly averages (pure);
- ``session_log``: :class:`SessionStoreLog`, a running session's writer thread and fallback file;
- ``report_import``: a whole session report into the history (``cadence history --import``).
"""

from coach.store.database import BUSY_TIMEOUT_MS, Database, StoreError, default_db_path
from coach.store.summaries import FIGURE_KEYS, flatten_interval, session_figures, week_of, weekly_averages
from coach.store.history import Store
from coach.store.report_import import report_summary, store_report
from coach.store.schema import MIGRATIONS, SCHEMA_VERSION, SESSION_STATUSES
from coach.store.session_log import SaveResult, SessionStoreLog, write_fallback

__all__ = [
    "BUSY_TIMEOUT_MS", "Database", "FIGURE_KEYS", "MIGRATIONS", "SCHEMA_VERSION", "SESSION_STATUSES", "SaveResult",
    "SessionStoreLog", "Store", "StoreError", "default_db_path", "flatten_interval", "report_summary",
    "session_figures", "store_report", "week_of", "weekly_averages", "write_fallback",
]
