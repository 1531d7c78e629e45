#!/usr/bin/env python3
"""rsynth studio in a real browser, as a newcomer uses it, with no YAML edited.

Debian's chromium-headless-shell, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on file descriptors 3 and 4, so nothing but the
standard library is needed). It opens the new-run form, makes a field error appear and go, composes
a digits generation with the robust model from the quickstart example, runs it and watches it
finish, does the same with the standard model, draws a sketch and stores it, then opens the run
and the two runs side by side. Screenshots of each page go to OUTDIR.

  python3 Tests/studio_browser.py URL OUTDIR [--browser PATH] [--steps N] [--per-class N]

Prints one JSON line (what it saw) and exits 0, or prints what failed and exits 1.
"""
import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    """One headless browser and one page in it."""

    def __init__(self, exe, width, height):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # Out of the way of 3 and 4, so the dup2s below cannot overwrite each other.
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def wire():
            os.dup2(high_r, 3)  # dup2 clears close-on-exec: the browser keeps 3 and 4 only
            os.dup2(high_w, 4)

        self.profile = tempfile.mkdtemp(prefix="rsynth-browser-")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(high_r)
        os.close(high_w)
        self.next_id = 0
        self.pending = b""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method, session=False, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def read(self):
        while b"\0" not in self.pending:
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its pipe (did it start? try running it by hand)")
            self.pending += chunk
        one, self.pending = self.pending.split(b"\0", 1)
        return json.loads(one)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:120]}: {r['exceptionDetails'].get('exception', {}).get('description', r['exceptionDetails'])}")
        return r["result"].get("value")

    def wait(self, expression, what, timeout=60):
        end = time.time() + timeout
        # An element found counts as true (returned by value it would be an empty object).
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"
        while time.time() < end:
            value = self.eval(probe)
            if value:
                return value
            time.sleep(0.2)
        raise RuntimeError(f"waited {timeout} s for {what}; the page shows: {self.eval('document.body.innerText')[:1500]}")

    def navigate(self, url):
        self.call("Page.navigate", session=True, url=url)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def drag(self, points):
        """A stroke with the mouse through `points` (page coordinates)."""
        kinds = ["mousePressed"] + ["mouseMoved"] * (len(points) - 2) + ["mouseReleased"]
        for kind, (x, y) in zip(kinds, points):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=x, y=y, button="left",
                      buttons=0 if kind == "mouseReleased" else 1, clickCount=1)

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# Page helpers, evaluated in the page: set a form field as a person would (and fire its events).
HELPERS = """
window.fill = (field, value) => {
  const el = document.querySelector(`[data-field="${field}"]`);
  if (!el) throw new Error("no field " + field);
  if (el.type == "checkbox") el.checked = value; else el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
};
window.pick = (id, value) => {
  const el = document.getElementById(id);
  el.value = value;
  el.dispatchEvent(new Event("change", { bubbles: true }));
  return el.value == value;
};
window.err = (field) => (document.querySelector(`.err[data-for="${field}"]`) || {}).textContent || "";
window.job = (name) => { const j = document.querySelector(`.job[data-name="${name}"]`); return j ? j.dataset.state : ""; };
true
"""


def compose_and_run(b, example, name, steps, per_class):
    """Picks an example in the form, sets a few fields, checks it, runs it, waits until done."""
    b.eval(f"pick('example', {json.dumps(example)})")
    b.wait(f"document.querySelector('[data-field=\"task.with.per_class\"]') && document.getElementById('name').value == {json.dumps(example.replace('/', '-'))}",
           f"the form filled from {example}")
    if per_class:
        b.eval(f"fill('task.with.per_class', '{per_class}')")
    if steps:
        b.eval(f"fill('optimizer.steps', '{steps}')")
    b.eval(f"document.getElementById('name').value = {json.dumps(name)}; true")
    b.eval("document.getElementById('run').click(); true")
    b.wait(f"['running', 'done'].includes(job({json.dumps(name)}))", f"{name} to start", timeout=30)
    b.wait(f"job({json.dumps(name)}) == 'done' || job({json.dumps(name)}) == 'failed'", f"{name} to finish", timeout=300)
    state = b.eval(f"job({json.dumps(name)})")
    if state != "done":
        raise RuntimeError(f"{name} {state}: " + b.eval(f"document.querySelector('.job[data-name=\"{name}\"]').innerText"))
    return b.eval(f"document.querySelector('.job[data-name=\"{name}\"]').innerText")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--browser", default="/usr/bin/chromium-headless-shell")
    ap.add_argument("--steps", type=int, default=10, help="0: the example's own")
    ap.add_argument("--per-class", type=int, default=2, help="0: the example's own")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=860)
    ap.add_argument("--prefix", default="browser", help="the two runs are PREFIX-robust and PREFIX-standard")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seen = {}
    b = Browser(args.browser, args.width, args.height)
    try:
        b.navigate(args.url + "#new")
        b.wait("document.querySelector('#example option[value=\"quickstart\"]') && document.querySelector('[data-field=\"classifier.with.weights\"]')",
               "the form and its examples")
        b.eval(HELPERS)
        seen["examples"] = b.eval("document.querySelectorAll('#example option').length - 1")

        # A field error appears at its field, with rsynth validate's message, and goes once fixed.
        b.eval("fill('constraints.0.with.eps', '-1'); document.getElementById('check').click(); true")
        seen["field_error"] = b.wait("err('constraints.0.with.eps')", "the error at constraints.0.with.eps")
        b.eval("fill('constraints.0.with.eps', '12'); document.getElementById('check').click(); true")
        b.wait("document.getElementById('form-status').textContent == 'The spec is valid.' && !err('constraints.0.with.eps')",
               "the fixed form to check out")

        robust, standard = args.prefix + "-robust", args.prefix + "-standard"
        seen["robust"] = compose_and_run(b, "quickstart", robust, args.steps, args.per_class)
        b.eval("window.scrollTo(0, 0); true")
        b.screenshot(os.path.join(args.out, "studio-new.png"))
        seen["standard"] = compose_and_run(b, "digits/generation-uniform-standard", standard, args.steps, args.per_class)
        seen["thumbnails"] = b.eval(f"document.querySelectorAll('.job[data-name=\"{standard}\"] .samples img').length")

        # A sketch drawn with the mouse, stored as a PNG in the runs folder's data/.
        box = b.eval("(() => { const r = document.getElementById('canvas').getBoundingClientRect(); "
                     "document.getElementById('canvas').scrollIntoView(); const s = document.getElementById('canvas').getBoundingClientRect(); "
                     "return [s.left, s.top, s.width, s.height]; })()")
        x, y, w, h = box
        b.drag([(x + w * 0.5, y + h * (0.15 + 0.1 * i)) for i in range(8)] + [(x + w * 0.5, y + h * 0.85)])
        b.eval("document.getElementById('draw-name').value = 'sketch-one'; document.getElementById('draw-save').click(); true")
        seen["drawing"] = b.wait("(document.querySelector('#uploads li') || {}).textContent", "the drawing stored")
        b.screenshot(os.path.join(args.out, "studio-draw.png"))

        # The gallery, both runs ticked, side by side.
        b.eval("location.hash = ''; true")
        b.wait(f"document.querySelector('tr[data-path=\"{robust}\"]') && document.querySelector('tr[data-path=\"{standard}\"]')",
               "both runs in the gallery")
        b.screenshot(os.path.join(args.out, "studio-gallery.png"))
        b.eval(f"for (const p of ['{robust}', '{standard}']) document.querySelector(`.pick[value=\"${{p}}\"]`).click();"
               "document.getElementById('compare').click(); true")
        frames_ready = ("(() => { const f = [...document.querySelectorAll('#view iframe')]; return f.length == N && "
                        "f.every((x) => x.contentDocument && x.contentDocument.readyState == 'complete' && x.contentDocument.querySelector('h1')); })()")
        b.wait(frames_ready.replace("N", "2"), "the two runs side by side")
        seen["compared"] = b.eval("[...document.querySelectorAll('#view iframe')].map((f) => f.title)")
        time.sleep(0.5)
        b.screenshot(os.path.join(args.out, "studio-compare.png"))
        b.eval(f"location.hash = 'run=' + encodeURIComponent('{robust}'); true")
        b.wait(frames_ready.replace("N", "1"), "the run's page")
        seen["run_title"] = b.eval("document.querySelector('#view iframe').contentDocument.querySelector('h1').textContent")
        time.sleep(0.5)
        b.screenshot(os.path.join(args.out, "studio-run.png"))
    except Exception as e:
        print(f"studio_browser.py: {e}", file=sys.stderr)
        return 1
    finally:
        b.close()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
