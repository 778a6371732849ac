"""Forward TCP connections from ADDRESS[,ADDRESS...]:PORT to the PostgreSQL server at
127.0.0.1:PORT, so workers in other network namespaces can reach a server that listens on
loopback only. Used by scripts/netns-demo; stops on SIGTERM."""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _serve(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer),
                         return_exceptions=True)


async def main(addresses: list[str], port: int) -> None:
    servers = [await asyncio.start_server(lambda r, w: _serve(port, r, w), host, port)
               for host in addresses]
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].split(","), int(sys.argv[2]) if len(sys.argv) > 2 else 5432))
