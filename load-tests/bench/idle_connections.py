#!/usr/bin/env python3
"""Opens N keep-alive connections to a proxy, sends one request on each, reads its whole
response, and then holds them all open and idle until stdin closes. Used by `bin/bench --suite
idle` to measure the memory a proxy spends per idle keep-alive connection.

usage: idle_connections.py HOST PORT COUNT [--tls] [--parallel P]
Prints "ready N" once N connections have had their response, then "closed" at the end.
"""
import asyncio
import ssl
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: portico-bench-idle\r\n\r\n"


async def one(host, port, tls, sem, held):
    async with sem:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls,
                                                       server_hostname="localhost" if tls else None)
        writer.write(REQUEST)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if head.split(b" ", 2)[1] != b"200" or length <= 0:
            raise RuntimeError("unexpected response head: %r" % head[:200])
        await reader.readexactly(length)
        held.append((reader, writer))


async def main():
    args = sys.argv[1:]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, count = args[0], int(args[1]), int(args[2])
    tls = None
    parallel = 200
    if "--tls" in args:
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    if "--parallel" in args:
        parallel = int(args[args.index("--parallel") + 1])
    sem = asyncio.Semaphore(parallel)
    held = []
    await asyncio.gather(*(one(host, port, tls, sem, held) for _ in range(count)))
    print("ready %d" % len(held), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    # The connections must still be open: a proxy that dropped idle connections early would
    # otherwise look cheap. The event loop ran all along, so a closed one has seen its EOF.
    alive = 0
    for reader, writer in held:
        if not reader.at_eof() and not writer.transport.is_closing():
            alive += 1
        writer.close()
    print("closed alive=%d" % alive, flush=True)


asyncio.run(main())
