"""Photograph a run's report.html in headless Chromium: the picture of the README (docs/report.png).

    python experiments/report_screenshot.py RUN_DIR [--out docs/report.png] [--epoch N]

Needs Debian's `chromium`; drives it with the tests' DevTools client (tests/browser.py). The PNG is reduced to
a 256-colour palette, which keeps a page of flat map colours and thin lines under 300 kB.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the DevTools client lives with the tests that use it most

from browser import Browser, chromium_binary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--epoch", type=int, default=0, help="the epoch the slider shows")
    parser.add_argument("--width", type=int, default=1100, help="page width in pixels")
    args = parser.parse_args()
    binary = chromium_binary()
    if binary is None:
        sys.exit("no chromium binary: apt-get install chromium")
    with Browser(binary, width=args.width, height=900) as browser:
        browser.open(args.run_dir / "report.html")
        browser.evaluate(f"(() => {{ const s = document.getElementById('epoch'); s.value = {args.epoch}; "
                         "s.dispatchEvent(new Event('input')); })()")
        if browser.errors():
            sys.exit(f"the page reported errors: {browser.errors()}")
        png = browser.screenshot()
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"{args.out}: {image.size[0]} x {image.size[1]} px, {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
