"""The database: tables, migrations and the `Store`, the one way in and out."""

from storage.outbox import DeliveryResult
from storage.store import IngestResult, Stats, Store, open_store

__all__ = ["DeliveryResult", "IngestResult", "Stats", "Store", "open_store"]
