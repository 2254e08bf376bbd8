"""External-client checks with Python's websockets package, driven by
tests/integration/server/external_clients_test.cpp:
    python3 transport_client.py SCENARIO PORT
Exits 0 when the scenario behaved as expected, 1 (reason on stderr) otherwise.
Prints "open" on stdout once connected (the driver waits for it)."""

import asyncio
import sys

import websockets

SCENARIO, PORT = sys.argv[1], int(sys.argv[2])
URL = f"ws://127.0.0.1:{PORT}/"


def fail(why):
    print(f"{SCENARIO}: {why}", file=sys.stderr)
    sys.exit(1)


async def echo():
    async with websockets.connect(URL) as ws:
        await ws.send("hello from python")
        got = await ws.recv()
        if got != "hello from python":
            fail(f"bad echo {got!r}")
        await ws.send(b"\x00\x01binary")
        got = await ws.recv()
        if got != b"\x00\x01binary":
            fail(f"bad binary echo {got!r}")
    if ws.close_code != 1000:
        fail(f"close code {ws.close_code}")


async def ping():
    async with websockets.connect(URL) as ws:
        waiter = await ws.ping(b"py-ping")
        await asyncio.wait_for(waiter, 5)


async def close_code():
    ws = await websockets.connect(URL)
    await ws.close(4000, "custom")
    if ws.close_code != 4000:
        fail(f"server echoed {ws.close_code}")


async def oversize():
    async with websockets.connect(URL, max_size=None) as ws:
        await ws.send("x" * 2000)
        try:
            await asyncio.wait_for(ws.recv(), 5)
            fail("no close")
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is None or closed.rcvd.code != 1009:
                fail(f"closed with {closed.rcvd}")


async def stop():
    async with websockets.connect(URL) as ws:
        print("open", flush=True)
        try:
            await asyncio.wait_for(ws.recv(), 8)
            fail("message instead of close")
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is None or closed.rcvd.code != 1001:
                fail(f"closed with {closed.rcvd}")


async def not_found():
    try:
        await websockets.connect(f"ws://127.0.0.1:{PORT}/nope")
        fail("connected to an unknown path")
    except websockets.InvalidStatusCode as error:
        if error.status_code != 404:
            fail(f"status {error.status_code}")


async def pipelined():
    async with websockets.connect(URL) as ws:
        count = 2000
        for i in range(count):
            await ws.send(f"m{i}")
        for i in range(count):
            got = await ws.recv()
            if got != f"m{i}":
                fail(f"got {got!r}, expected m{i}")


SCENARIOS = {
    "echo": echo,
    "ping": ping,
    "close-code": close_code,
    "oversize": oversize,
    "stop": stop,
    "not-found": not_found,
    "pipelined": pipelined,
}

if SCENARIO not in SCENARIOS:
    fail("unknown scenario")
asyncio.run(asyncio.wait_for(SCENARIOS[SCENARIO](), 15))
