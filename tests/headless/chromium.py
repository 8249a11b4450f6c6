"""Headless Chromium for the HTML export tests: screenshot + DOM + the page's console messages."""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from .conftest import need_binary

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]


def render(html_path: Path, shot: Path, width: int = 1400, height: int = 1800) -> tuple[str, list[str]]:
    """Screenshot the page; return its DOM as Chromium parsed it and every console line it logged."""
    exe = need_binary("chromium")
    url = html_path.resolve().as_uri()
    consoles: list[str] = []
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([exe, *_FLAGS, f"--user-data-dir={prof}", f"--screenshot={shot}",
                            f"--window-size={width},{height}", url], capture_output=True, text=True, timeout=90)
        consoles += [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([exe, *_FLAGS, f"--user-data-dir={prof}", "--dump-dom", url],
                           capture_output=True, text=True, timeout=90)
        consoles += [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    return r.stdout, consoles


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def external_refs(html: str) -> list[str]:
    """Anything that would make the browser fetch: src attributes, links other than in-page anchors,
    CSS url(), @import."""
    return re.findall(r"""(?:\bsrc\s*=|\bhref\s*=\s*(?!["']?#)|url\(|@import)""", html, flags=re.I)
