"""Summarize py-spy's raw (collapsed) stacks: the top functions by own time, and
webhookd's own functions by total time (samples of every thread together).

python -m bench.profile_top FILE [N]
"""

import sys
from collections import Counter
from pathlib import Path


def summarize(text: str, top: int) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        samples += count
        if frames:
            own[_short(frames[-1])] += count
            layers[_layer(_short(frames[-1]))] += count
        for name in {_short(frame) for frame in frames}:
            total[name] += count
    lines = [f"{samples} samples", "", "own time by layer (where the CPU went):"]
    lines += [f"  {100 * n / samples:5.1f} %  {name}" for name, n in layers.most_common()]
    lines += ["", "own time (the function itself):"]
    lines += [f"  {100 * n / samples:5.1f} %  {name}" for name, n in own.most_common(top)]
    ours = Counter({name: n for name, n in total.items() if "webhookd/" in name})
    ours.pop("<module> (webhookd/cli.py)", None)
    for name in ("main (webhookd/cli.py)", "serve (webhookd/cli.py)", "worker (webhookd/cli.py)"):
        ours.pop(name, None)
    lines += ["", "webhookd's functions, total time (with what they call):"]
    lines += [f"  {100 * n / samples:5.1f} %  {name}" for name, n in ours.most_common(top)]
    return "\n".join(lines)


LAYERS = (
    ("webhookd/store/sqlite.py", "SQLite (statements and commits, native)"),
    ("webhookd/store/postgres.py", "asyncpg (driver)"),
    ("asyncpg/", "asyncpg (driver)"),
    ("webhookd/", "webhookd's own code"),
    ("fastapi/", "FastAPI/Starlette (routing, dependencies, validation glue)"),
    ("starlette/", "FastAPI/Starlette (routing, dependencies, validation glue)"),
    ("pydantic", "pydantic (validation)"),
    ("uvicorn/", "uvicorn/httptools (HTTP server)"),
    ("httptools", "uvicorn/httptools (HTTP server)"),
    ("aiohttp/", "aiohttp (outbound HTTP)"),
    ("logging/", "logging"),
    ("asyncio/", "asyncio/uvloop and threads (scheduling, hand-offs)"),
    ("concurrent/", "asyncio/uvloop and threads (scheduling, hand-offs)"),
    ("threading.py", "asyncio/uvloop and threads (scheduling, hand-offs)"),
    ("json/", "json (stdlib)"),
    ("jwt/", "PyJWT (token verification)"),
)


def _layer(short: str) -> str:
    """The library a frame belongs to, by its path (`name (path)`)."""
    path = short.rpartition(" (")[2]
    return next((name for marker, name in LAYERS if marker in path), "other")


def _short(frame: str) -> str:
    """`send (aiohttp/client.py:123)` → `send (aiohttp/client.py)`: one entry per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]).read_text(), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
