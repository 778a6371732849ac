"""The dashboard with a big run. One command, one table:

    .venv/bin/python benchmarks/dashboard.py [--steps 1000] [--runs 7]

Builds a definition of about ``--steps`` steps in a realistic shape (one step fans out to 20
branches, each a chain; they join into one step followed by a short chain), runs one
execution of it to completion on embedded SQLite with a trivial agent, serves the app with
uvicorn on a real socket and measures:

- the server's answer to ``GET /ui/executions/{id}`` (wall time of the whole response over
  the socket, median of ``--runs``), and to the graph with every step (``?graph=all``);
- in Debian's Chromium driven by Playwright (the browser tests' launch flags), the time from
  navigation to the ``load`` event and to the graph being visible (median of ``--runs``);
- the sizes of the page's HTML and of its graph's SVG, and the graph drawn alone (every
  step with ``render``, and what a page shows first with ``render_for_page``).

The machine and its load are printed with the table: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from measure import cpu_name  # noqa: E402

from ledgerflow import App  # noqa: E402
from ledgerflow.server import graph_svg  # noqa: E402

BRANCHES = 20
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def definition(steps: int) -> dict[str, Any]:
    """``fetch`` → 20 branches of chains → ``merge`` → a tail chain: ``steps`` in all
    (1,000: chains of 48 and a tail of 38)."""
    tail = max(steps // 50, 1)
    per_branch = max((steps - 2 - tail) // BRANCHES, 1)
    found: list[dict[str, Any]] = [{"id": "fetch", "agent": "bench.noop"}]
    for b in range(BRANCHES):
        for i in range(per_branch):
            found.append({"id": f"b{b}-{i}", "agent": "bench.noop",
                          "needs": [f"b{b}-{i - 1}" if i else "fetch"]})
    found.append({"id": "merge", "agent": "bench.noop",
                  "needs": [f"b{b}-{per_branch - 1}" for b in range(BRANCHES)]})
    while len(found) < steps:
        found.append({"id": f"t{len(found)}", "agent": "bench.noop",
                      "needs": [found[-1]["id"]]})
    return {"name": "big", "steps": found}


def machine() -> str:
    return (f"{platform.system()} {platform.release()}, {cpu_name()}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.2f}; Python {platform.python_version()}")


def serve(app: App) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from ledgerflow.server.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(app), log_level="warning",
                                           lifespan="on"))
    sock = socket.create_server(("127.0.0.1", 0))
    running = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    running.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not running.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    return server, running, f"http://127.0.0.1:{sock.getsockname()[1]}"


def fetch(url: str, token: str) -> tuple[float, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": f"ledgerflow_session={token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request) as answer:
        body = answer.read()
    return time.perf_counter() - start, body


def svg_bytes(html: bytes) -> int:
    found = re.search(rb"<svg.*?</svg>", html, re.S)
    return len(found.group(0)) if found else 0


def browser_times(base: str, path: str, token: str, runs: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        return {}
    loads, graphs, navs = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": "ledgerflow_session", "value": token,
                                  "url": base}])
            page = context.new_page()
            page.goto(base + path)  # warm: first paint of fonts and scripts
            for _ in range(runs):
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                loads.append(time.perf_counter() - start)
                page.locator("#graph svg").first.wait_for(state="visible")
                graphs.append(time.perf_counter() - start)
                navs.append(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
        finally:
            browser.close()
    return {"load_s": statistics.median(loads), "graph_s": statistics.median(graphs),
            "nav_load_s": statistics.median(navs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = App(f"sqlite:///{Path(folder) / 'dash.db'}")

        @app.agent("bench.noop")
        def noop(ctx: Any, data: Any) -> None:
            return None

        spec = definition(args.steps)
        app.apply(spec)
        t0 = time.perf_counter()
        eid = app.start("big")
        app.run_until_idle(concurrency=8)
        ran = time.perf_counter() - t0
        status = app.status(eid)
        if status.status != "completed":
            raise RuntimeError(f"the execution is {status.status}")
        entries = len(app.history(eid))
        nodes = graph_svg.nodes_of(spec, {st.id: st.status for st in status.steps})
        drawn = []
        for label, draw in (("every step", graph_svg.render),
                            ("page's first view", graph_svg.render_for_page)):
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                svg = draw(nodes, "big")
                times.append(time.perf_counter() - start)
            drawn.append((label, statistics.median(times), len(svg), svg.count("<g ")))
        token = app.access.create_token("default", "viewer").secret
        server, running, base = serve(app)
        try:
            path = f"/ui/executions/{eid}"
            rows = []
            for label, query in (("page (default graph)", ""), ("page, every step", "?graph=all")):
                fetch(base + path + query, token)  # warm
                times = []
                body = b""
                for _ in range(args.runs):
                    took, body = fetch(base + path + query, token)
                    times.append(took)
                rows.append((label, statistics.median(times), len(body), svg_bytes(body)))
            seen = browser_times(base, path, token, args.runs)
        finally:
            server.should_exit = True
            running.join(10)
            app.close()
    print(f"\nledgerflow dashboard, one execution of {len(spec['steps'])} steps "
          f"({entries} ledger entries; ran in {ran:.1f} s) — {machine()}\n")
    print(f"{'GET /ui/executions/{id}':28} {'median':>9} {'HTML':>10} {'SVG':>10}")
    for label, took, html, svg in rows:
        print(f"{label:28} {took * 1000:7.0f} ms {html / 1024:7.0f} KiB {svg / 1024:7.0f} KiB")
    print(f"\n{'graph drawn alone':28} {'median':>9} {'SVG':>10} {'boxes':>8}")
    for label, took, size, boxes in drawn:
        print(f"{label:28} {took * 1000:7.1f} ms {size / 1024:7.0f} KiB {boxes:8}")
    if seen:
        print(f"\nChromium (median of {args.runs}): navigation to load "
              f"{seen['load_s'] * 1000:.0f} ms (the page's own loadEventEnd "
              f"{seen['nav_load_s'] * 1000:.0f} ms), to the graph visible "
              f"{seen['graph_s'] * 1000:.0f} ms")
    else:
        print("\nChromium: not installed, browser times not measured")


if __name__ == "__main__":
    main()
