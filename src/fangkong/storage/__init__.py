"""Records store: engine, declarative base, sessions and migrations."""

from fangkong.storage.db import Base, create_store_engine, session_scope
from fangkong.storage.types import UTCDateTime

__all__ = ["Base", "UTCDateTime", "create_store_engine", "session_scope"]
