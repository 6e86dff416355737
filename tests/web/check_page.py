"""Loads the head's status page in headless Chromium and reports what a person would see.

Driven by tests/web_chromium.rs, which starts the workers and `pisubmit status --serve`,
computes the expected colours from the Rust colour table and asserts on the JSON this
prints. Argument: one JSON object (url, viewport, tiles, screenshot, optional kill).
Chromium runs offline-safe: no background networking, component updates or sync, and a
fresh profile.
"""

import json
import os
import signal
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

TILES_JS = """
return [...document.querySelectorAll('.tile')].map(t => {
  const r = t.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {address: t.dataset.address, state: t.dataset.state, temp: t.dataset.temp,
          mark: t.dataset.mark, background: getComputedStyle(t).backgroundColor,
          font_px: parseFloat(getComputedStyle(t).fontSize),
          left: r.left, top: r.top, right: r.right, bottom: r.bottom,
          seen: !!hit && t.contains(hit), name: t.querySelector('.name').textContent};
});
"""


def start(args, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = args.get("chromium", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    width, height = args["viewport"]
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(options=options, service=Service(args.get("chromedriver", "/usr/bin/chromedriver")))
    # The page's own viewport exactly, whatever the window's decorations.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return driver


def wait_for(driver, what, done, within):
    deadline = time.monotonic() + within
    tiles = []
    while time.monotonic() < deadline:
        tiles = driver.execute_script(TILES_JS)
        if done(tiles):
            return tiles
        time.sleep(0.1)
    raise SystemExit(f"check_page: no {what} within {within}s; tiles: {json.dumps(tiles)[:2000]}")


JOB_JS = """
return Object.fromEntries([...document.querySelectorAll('[id^=job-]')].map(e => [e.id, e.textContent]))
"""


def watch_job(driver, within):
    """The job panel until it shows the answer; the primes counts it showed on the way."""
    deadline = time.monotonic() + within
    counts = []
    while time.monotonic() < deadline:
        panel = driver.execute_script(JOB_JS)
        count = panel.get("job-primes-count", "")
        if count and (not counts or counts[-1] != count):
            counts.append(count)
        if panel.get("job-finished"):
            panel["counts_seen"] = counts
            panel["panel_shown"] = driver.execute_script("return !document.getElementById('job').hidden")
            return panel
        time.sleep(0.1)
    raise SystemExit(f"check_page: the job did not finish on the page within {within}s; counts {counts}")


def main():
    args = json.loads(sys.argv[1])
    report = {}
    with tempfile.TemporaryDirectory(prefix="piw-chromium-") as profile:
        driver = start(args, profile)
        try:
            driver.get(args["url"])
            if args.get("job"):
                report["job"] = watch_job(driver, args.get("within_s", 120))
                print(json.dumps(report))
                return
            expected = args["tiles"]
            tiles = wait_for(driver, f"{expected} tiles all up", lambda ts: len(ts) == expected and all(
                t["state"] == "up" for t in ts), args.get("within_s", 30))
            report["viewport"] = driver.execute_script("return [innerWidth, innerHeight]")
            report["tiles"] = tiles
            report["screenshot_bytes"] = len(driver.get_screenshot_as_png())
            kill = args.get("kill")
            if kill:
                started = time.monotonic()
                os.kill(kill["pid"], signal.SIGKILL)
                gone = wait_for(driver, "dead tile", lambda ts: any(
                    t["address"] == kill["address"] and t["state"] == "unreachable" and t["mark"] == "X"
                    for t in ts), args.get("within_s", 30))
                report["dead_after_s"] = time.monotonic() - started
                report["dead"] = next(t for t in gone if t["address"] == kill["address"])
            if args.get("screenshot"):
                driver.save_screenshot(args["screenshot"])
        finally:
            driver.quit()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
