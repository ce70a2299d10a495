"""The Store's sources: fetch state, leases, sources added from a chat, and ingesting posts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    AddedSource,
    Post,
    SourceState,
)
from storage import planning
from storage.base import StoreBase
from storage.rows import (
    source_from_row,
    source_values,
)
from storage.tables import (
    leases,
    sources,
)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one `Store.ingest` wrote."""

    #: The posts that were new and alerted, with their ids.
    alerted: tuple[Post, ...]
    #: New posts recorded without an alert (a first fetch, or a story seen elsewhere).
    recorded: int
    #: Outbox rows planned.
    planned: int
    #: Posts already alerted whose title or excerpt changed: their messages get edited.
    revised: int = 0


class SourceStore(StoreBase):
    @cached_property
    def _sqlite_writer(self) -> asyncio.Lock:
        return asyncio.Lock()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that writes, taking turns in this process on SQLite.

        SQLite lets one writer in at a time: the others sleep and retry in its
        busy handler, each holding a pooled connection. A poll cycle's writers
        (fifty ingests, the batched states) queue here instead, which costs
        less CPU and time (bench/poll.py). PostgreSQL writes concurrently.
        """
        if self.engine.dialect.name != "sqlite":
            async with self._tx() as conn:
                yield conn
            return
        async with self._sqlite_writer, self._tx() as conn:
            yield conn

    # --- sources -----------------------------------------------------------------

    async def source_state(self, name: str) -> SourceState:
        async with self._tx() as conn:
            row = (await conn.execute(select(sources).where(sources.c.name == name))).first()
        return source_from_row(row._mapping) if row else SourceState(name=name)

    async def source_states(self) -> list[SourceState]:
        async with self._tx() as conn:
            rows = await conn.execute(select(sources).order_by(sources.c.name))
            return [source_from_row(row._mapping) for row in rows]

    async def save_source_state(self, state: SourceState, *, release: str | None = None) -> None:
        async with self._tx() as conn:
            await self._save_source(conn, state, release=release)

    async def _save_source(
        self, conn: AsyncConnection, state: SourceState, *, release: str | None = None
    ) -> None:
        """Upsert `state`; with `release` (an owner), also give up that owner's fetch lease."""
        values = source_values(state)
        statement = self._insert(sources).values(name=state.name, **values)
        update_values = values | _released_by(release)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["name"], set_=update_values)
        )

    async def add_source(self, source: AddedSource) -> bool:
        """Remember a source added from a chat; False if the name or URL is taken."""
        async with self._tx() as conn:
            taken = await conn.execute(
                select(sources.c.name).where(
                    or_(sources.c.name == source.name, sources.c.url == source.url)
                )
            )
            if taken.first() is not None:
                return False
            await conn.execute(
                sources.insert().values(
                    name=source.name,
                    url=source.url,
                    categories=json.dumps(list(source.categories), ensure_ascii=False),
                    added_by=source.added_by,
                    initialized=False,
                    failures=0,
                )
            )
            return True

    async def added_sources(self) -> list[AddedSource]:
        """Every source added from a chat or an OPML file, paused ones included."""
        query = select(sources).where(sources.c.url.is_not(None)).order_by(sources.c.name)
        async with self._tx() as conn:
            return [
                AddedSource(r.name, r.url, tuple(json.loads(r.categories or "[]")), r.added_by)
                for r in await conn.execute(query)
            ]

    async def remove_source(self, name: str) -> bool:
        """Forget an added source (its posts stay); False if there is no such added source."""
        async with self._tx() as conn:
            gone = await conn.execute(
                delete(sources).where(sources.c.name == name, sources.c.url.is_not(None))
            )
            return bool(gone.rowcount)

    async def pause_source(self, name: str, paused: bool) -> None:
        """Pause or resume a source (the caller knows the name is configured or added)."""
        async with self._tx() as conn:
            await conn.execute(
                self._insert(sources)
                .values(name=name, initialized=False, failures=0)
                .on_conflict_do_nothing()
            )
            await conn.execute(update(sources).where(sources.c.name == name).values(paused=paused))

    async def lease_source(self, name: str, owner: str, lease: timedelta) -> SourceState | None:
        """Take `name` for `owner` until the lease runs out, and return its state.

        None while another process holds it.

        Several processes on one database fetch each source once: the one holding
        the lease fetches, and a process that died leaves its lease to expire.
        """
        now = self._clock()
        async with self._tx() as conn:
            await conn.execute(
                self._insert(sources)
                .values(name=name, initialized=False, failures=0)
                .on_conflict_do_nothing()
            )
            taken = await conn.execute(
                update(sources)
                .where(
                    sources.c.name == name,
                    or_(
                        sources.c.lease_until.is_(None),
                        sources.c.lease_until < now,
                        sources.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + lease)
                .returning(*sources.c)
            )
            row = taken.first()
            return source_from_row(row._mapping) if row else None

    async def lease_sources(
        self,
        names: Sequence[str],
        owner: str,
        lease: timedelta,
        *,
        due_by: datetime | None = None,
    ) -> dict[str, SourceState]:
        """Take every source of `names` free for `owner`, in one statement (per 900); their states.

        The batched `lease_source`: the same leases, so single and batched
        callers (in any process) exclude each other. Left out of the answer:
        sources another process holds, paused sources, and with `due_by`
        sources whose next fetch is later. Rows are created for unknown names.
        """
        now = self._clock()
        wanted = sorted(set(names))
        async with self._write() as conn:
            taken = await self._take(conn, wanted, owner, now, now + lease, due_by)
            missing = [name for name in wanted if name not in taken]
            if missing:
                # Known rows that were not taken fail again, cheaply: most cycles skip this.
                fresh = [{"name": name, "initialized": False, "failures": 0} for name in missing]
                await conn.execute(self._insert(sources).on_conflict_do_nothing(), fresh)
                taken |= await self._take(conn, missing, owner, now, now + lease, due_by)
        return taken

    async def _take(
        self,
        conn: AsyncConnection,
        names: Sequence[str],
        owner: str,
        now: datetime,
        until: datetime,
        due_by: datetime | None,
    ) -> dict[str, SourceState]:
        """Lease the free rows among `names` (in chunks under the bind-parameter limits)."""
        taken: dict[str, SourceState] = {}
        for start in range(0, len(names), _CHUNK):
            free = _leasable(names[start : start + _CHUNK], owner, now, due_by)
            # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): rows another process
            # is leasing right now are its own, and waiting on them could deadlock.
            if conn.dialect.name == "postgresql":
                locked = select(sources.c.name).where(*free).with_for_update(skip_locked=True)
                free = [sources.c.name.in_(locked), *free]
            rows = await conn.execute(
                update(sources)
                .where(*free)
                .values(lease_owner=owner, lease_until=until)
                .returning(*sources.c)
            )
            taken |= {row.name: source_from_row(row._mapping) for row in rows}
        return taken

    async def save_source_states(
        self, states: Sequence[SourceState], *, release: str | None = None
    ) -> None:
        """Upsert many states in one statement (an executemany); with `release` (an owner),
        drop that owner's leases on them.

        The batched `save_source_state`: all or nothing, in one transaction.
        """
        if not states:
            return
        statement = self._insert(sources)
        written: dict[str, Any] = {key: statement.excluded[key] for key in source_values(states[0])}
        statement = statement.on_conflict_do_update(
            index_elements=["name"], set_=written | _released_by(release)
        )
        rows = [{"name": s.name, **source_values(s)} for s in states]
        async with self._write() as conn:
            await conn.execute(statement, rows)

    async def release_source(self, name: str, owner: str) -> None:
        async with self._tx() as conn:
            await conn.execute(
                update(sources)
                .where(sources.c.name == name, sources.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def hold_lease(self, name: str, owner: str, lease: timedelta) -> bool:
        """Take or renew the role `name` for `owner`; False while another owner holds it."""
        now = self._clock()
        async with self._tx() as conn:
            values = {"name": name, "owner": owner, "until": now + lease}
            await conn.execute(self._insert(leases).values(**values).on_conflict_do_nothing())
            taken = await conn.execute(
                update(leases)
                .where(leases.c.name == name, or_(leases.c.owner == owner, leases.c.until < now))
                .values(owner=owner, until=now + lease)
            )
            return bool(taken.rowcount)

    async def drop_lease(self, name: str, owner: str) -> None:
        """Give the role up at once (a clean stop), so another process takes over now."""
        async with self._tx() as conn:
            await conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))

    async def ingest(
        self,
        state: SourceState,
        found: Sequence[Post],
        *,
        backfill: int = 0,
        baseline: bool = True,
        release: str | None = None,
    ) -> IngestResult:
        """Store what is new in `found` and plan its alerts, with `state`, in one transaction.

        New means an unknown (source, guid) whose link's fingerprint is not
        known either. On the source's first successful fetch only the
        `backfill` newest new posts are alerted and the rest are recorded,
        unless `baseline` is False (pushed posts are always news). A `state`
        that says it is initialized is believed (the caller read it under the
        source's lease); otherwise the database is asked.
        """
        now = self._clock()
        async with self._write() as conn:
            # A state read as initialized stays so (nothing unsets it): no need to ask.
            first = baseline and not (
                state.initialized or await self._initialized(conn, state.name)
            )
            fresh, revised = await self._unseen(conn, state.name, found, now)
            known = await planning.known_fingerprints(conn, [p.fingerprint for p in fresh])
            chosen = _choose_alerts(fresh, known, backfill if first else None)
            ids = await planning.insert_posts(conn, chosen, now)
            alerted: list[Post] = []
            planned = 0
            for post_id, (post, alert) in zip(ids, chosen, strict=True):
                if alert:
                    planned += await planning.plan_post(conn, post_id, post, now)
                    alerted.append(replace(post, id=post_id))
            await self._save_source(conn, replace(state, initialized=True), release=release)
        return IngestResult(tuple(alerted), len(chosen) - len(alerted), planned, revised)

    async def _initialized(self, conn: AsyncConnection, name: str) -> bool:
        query = select(sources.c.initialized).where(sources.c.name == name)
        return bool((await conn.execute(query)).scalar())

    async def _unseen(
        self, conn: AsyncConnection, source: str, found: Sequence[Post], now: datetime
    ) -> tuple[list[Post], int]:
        """The posts not stored yet, and how many stored ones were revised at the source."""
        unique = list({p.guid: p for p in reversed(found)}.values())[::-1]
        known = await planning.stored_versions(conn, source, [p.guid for p in unique])
        revised = 0
        for post in unique:
            stored = known.get(post.guid)
            if stored is not None and _changed(stored, post, now):
                await planning.revise_post(conn, stored.id, post, now)
                revised += 1
        return [p for p in unique if p.guid not in known], revised


#: Names per leasing statement: within the oldest SQLite's 999 bound parameters.
_CHUNK = 900


def _released_by(owner: str | None) -> dict[str, Any]:
    """The lease columns of a state written back by `owner`: cleared if `owner` still holds
    the lease. A process whose lease ran out while it fetched (another one has the
    source now) writes what it found, but leaves the new holder's lease alone."""
    if owner is None:
        return {}
    held = sources.c.lease_owner == owner
    return {
        "lease_owner": case((held, None), else_=sources.c.lease_owner),
        "lease_until": case((held, None), else_=sources.c.lease_until),
    }


def _leasable(
    names: Sequence[str], owner: str, now: datetime, due_by: datetime | None
) -> list[ColumnElement[bool]]:
    """The rows of `names` that `owner` may lease now: `lease_source`'s rule, minus paused."""
    free = [
        sources.c.name.in_(names),
        sources.c.paused.is_(False),
        or_(
            sources.c.lease_until.is_(None),
            sources.c.lease_until < now,
            sources.c.lease_owner == owner,
        ),
    ]
    if due_by is not None:
        free.append(or_(sources.c.next_fetch_at.is_(None), sources.c.next_fetch_at <= due_by))
    return free


#: A correction at the source updates messages sent within this long.
LIVE_UPDATE_WINDOW = timedelta(hours=24)


def _changed(stored: planning.StoredVersion, post: Post, now: datetime) -> bool:
    """An alerted post whose headline or text the source corrected, recently enough."""
    return (
        stored.alerted
        and now - stored.seen_at <= LIVE_UPDATE_WINDOW
        and (stored.title, stored.excerpt) != (post.title, post.excerpt)
    )


def _choose_alerts(
    fresh: Sequence[Post], known_prints: set[str], backfill: int | None
) -> list[tuple[Post, bool]]:
    """Pair each new post with whether it is alerted.

    A story whose link was seen before (another source, or a changed guid) is
    recorded silently. `backfill` None means a normal fetch: alert every new
    post; a number means a first fetch: alert only that many of the newest.
    """
    chosen: list[tuple[Post, bool]] = []
    prints = set(known_prints)
    for post in fresh:
        chosen.append((post, post.fingerprint not in prints))
        prints.add(post.fingerprint)
    if backfill is None:
        return chosen
    oldest = datetime.min.replace(tzinfo=UTC)
    newest = sorted(
        (p for p, alert in chosen if alert),
        key=lambda p: p.published_at or oldest,
        reverse=True,
    )[:backfill]
    keep = {id(p) for p in newest}
    return [(p, id(p) in keep) for p, _ in chosen]
