"""Writer: where the recorder's flushes go; EngineWriter: through the app's SQLAlchemy engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...app import App
    from ..batch import Batch
    from ..fold import Folded


class Writer:
    """Writes one flush: the rollup counters and the raw batch, both or neither."""

    async def write(self, folded: Folded, batch: Batch) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Release the writer's connection; a later :meth:`write` opens a new one."""


class EngineWriter(Writer):
    """Through the app's engine: any database SQLAlchemy serves."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def write(self, folded: Folded, batch: Batch) -> None:
        from ..store import write_batch

        await write_batch(self.app, folded, [batch])
