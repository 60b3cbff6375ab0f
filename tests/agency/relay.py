"""A TCP forwarder for one directed agent-to-agent link that a test can cut.

It runs its own asyncio loop in a thread. While cut, every open connection
is closed and new ones are accepted but black-holed (their bytes are read and
dropped, nothing comes back), as a dropped link behaves: the sender waits
until its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from harness.infra import procs


class Relay:
    def __init__(self, target_port: int, taken: set[int] | None = None) -> None:
        self.target_port = target_port
        self.port = procs.free_port(taken)
        self.blocked = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(5):
            raise RuntimeError("relay did not start")

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            started.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.blocked:
                while await reader.read(65536):
                    pass
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.target_port), 2
                )
            except (OSError, TimeoutError):
                return
            self._writers.add(up_writer)
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                self._writers.discard(up_writer)
                up_writer.close()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await src.read(65536)
                if not data or self.blocked:
                    break
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.close()

    def cut(self) -> None:
        def do() -> None:
            self.blocked = True
            for w in list(self._writers):
                w.close()

        self._loop.call_soon_threadsafe(do)

    def heal(self) -> None:
        def do() -> None:
            self.blocked = False
            for w in list(self._writers):  # drop the black-holed connections
                w.close()

        self._loop.call_soon_threadsafe(do)

    def close(self) -> None:
        def do() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(do)
        self._thread.join(5)
