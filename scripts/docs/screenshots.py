#!/usr/bin/env python3
"""The screenshots in docs/images, taken in headless Chromium through chromedriver.

    scripts/docs/screenshots.py SERVER_URL REPORT_HTML OUT_DIR

SERVER_URL: a running `bertqa serve` (a fine-tuned model: the page shows its answer);
REPORT_HTML: an evaluation report.html. Writes page.png and evaluation-report.png.
Needs Debian's chromium and chromium-driver; not run by CI.
"""
import base64, json, os, socket, subprocess, sys, time, urllib.request

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["value"]

def main():
    server, report, out = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    port = free_port()
    driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(base, "GET", "/status")["ready"]: break
            except OSError:
                time.sleep(0.1)
        session = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=900,1000", "--force-device-scale-factor=1"]}}}})["sessionId"]
        s = f"/session/{session}"
        def find(css):
            for _ in range(300):
                found = call(base, "POST", s + "/elements", {"using": "css selector", "value": css})
                if found: return list(found[0].values())[0]
                time.sleep(0.1)
            raise SystemExit(f"no {css}")
        def shot(name):
            with open(os.path.join(out, name), "wb") as f:
                f.write(base64.b64decode(call(base, "GET", s + "/screenshot")))
        call(base, "POST", s + "/url", {"url": server.rstrip("/") + "/"})
        call(base, "POST", s + f"/element/{find('#question')}/value", {"text": "Who developed the theory of relativity?\ue007"})
        find("#answer")
        shot("page.png")
        call(base, "POST", s + "/window/rect", {"width": 1100, "height": 1600})
        call(base, "POST", s + "/url", {"url": "file://" + report})
        find("#misses")
        shot("evaluation-report.png")
    finally:
        # The browser goes with its session; ending chromedriver alone would leave it running.
        try:
            call(base, "DELETE", s)
        except (NameError, OSError):
            pass
        driver.terminate()

if __name__ == "__main__":
    main()
