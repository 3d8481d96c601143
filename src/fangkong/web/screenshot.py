"""Screenshot a page of a running fangkong with the system Chromium (docs/img/).

    python -m fangkong.web.screenshot --url http://127.0.0.1:8000/?day=2022-03-22 \
        --out docs/img/dashboard.png --user hq --password zibo-demo-2022

Needs the Playwright Python package; uses the Chromium the system provides rather than a
downloaded browser build.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking switches an offline Chromium keeps retrying its
# update and sync services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def take(
    url: str,
    out: Path,
    *,
    width: int = 1440,
    height: int = 1000,
    full: bool = False,
    user: str | None = None,
    password: str | None = None,
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
            page.goto(url, wait_until="networkidle")
            if user and page.query_selector('form[action="/login"]'):
                page.fill('input[name="username"]', user)
                page.fill('input[name="password"]', password or "")
                page.click('button[type="submit"]')
                page.wait_for_load_state("networkidle")
            # The charts draw after their data arrives; wait for their canvases.
            for selector in ("#curve canvas", "#map canvas"):
                if page.query_selector(selector.split()[0]):
                    page.wait_for_selector(selector, timeout=10_000)
            page.wait_for_timeout(300)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8000/")
    parser.add_argument("--out", type=Path, default=Path("docs/img/dashboard.png"))
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--full-page", action="store_true", help="the whole page, not one screen")
    parser.add_argument("--user", help="sign in as this user when the page asks")
    parser.add_argument("--password", help="the user's password")
    args = parser.parse_args(argv)
    take(
        args.url,
        args.out,
        width=args.width,
        height=args.height,
        full=args.full_page,
        user=args.user,
        password=args.password,
    )
    print(args.out)


if __name__ == "__main__":
    main()
