"""actlab report, run once for this module through the CLI: the files, results.json against
direct library calls and closed forms, the PDF's text (pdftotext), the HTML in headless
Chromium (DevTools protocol over a pipe), determinism and confinement to --out."""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageStat

from actlab.activations import HOMEWORK_SPECS
from actlab.backprop import trace
from actlab.claims import check_claims
from actlab.cli.output import dumps
from actlab.data import xor
from actlab.jumprelu import jumprelu_sweep
from actlab.models import xor_initial, xor_trained
from actlab.oae.api import oae
from actlab.regions import regions_report
from actlab.report import compute, load_config
from actlab.train import xor_params
from conftest import REPO, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def normal(data: Any) -> Any:
    """Plain JSON data, as results.json holds it."""
    return json.loads(dumps(data))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    parent = tmp_path_factory.mktemp("report")
    start = time.perf_counter()
    result = run_cli("report", "--out", str(parent / "out"))
    seconds = time.perf_counter() - start
    assert result.code == 0, result.stderr
    out = parent / "out"
    return {"parent": parent, "out": out, "cli": result, "seconds": seconds,
            "json": json.loads((out / "results.json").read_text()),
            "pdf": pdf_text(out / "report.pdf"),
            "html": (out / "report.html").read_text(encoding="utf-8")}


def pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.replace("\u2212", "-")


def f4(value: float) -> str:
    return f"{value:.4f}"


# --- the run ------------------------------------------------------------------------------
def test_files_and_confinement(report: dict[str, Any]) -> None:
    out = report["out"]
    assert {p.name for p in report["parent"].iterdir()} == {"out"}  # nothing outside --out
    assert {p.name for p in out.iterdir()} == {"report.pdf", "report.html", "results.json",
                                               "report.typ", "figures"}
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == sorted([f"regions-{i}.svg" for i in range(1, 7)]
                             + ["training.svg", "oae-l2.svg", "jumprelu.svg",
                                "jumprelu-oae.svg"])
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    mask = os.umask(0o022)
    os.umask(mask)
    for path in (out, *out.rglob("*")):  # modes of new files, not temporary files' 0700/0600
        assert path.stat().st_mode & 0o777 == (0o777 if path.is_dir() else 0o666) & ~mask, path
    cli = report["cli"]
    assert cli.stderr == ""  # no progress bar when stderr is not a terminal
    assert f"wrote {out / 'report.pdf'}" in cli.stdout
    assert report["seconds"] < 60


def test_results_json_has_the_contract_shapes(report: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("contract_check",
                                                  REPO / "tests" / "tools" / "contract_check.py")
    assert spec is not None and spec.loader is not None
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    data = report["json"]
    checker.check_regions(data["regions"])
    checker.check_trace(data["xor_trace"])
    checker.check_train(data["xor_train"])
    for run in data["oae"]:
        checker.check_oae(run)
    checker.check_jumprelu(data["jumprelu"])
    assert data["claims"]["claims"]


def test_results_equal_direct_library_calls(report: dict[str, Any]) -> None:
    data = report["json"]
    assert data["regions"] == normal(regions_report(HOMEWORK_SPECS))
    assert data["xor_trace"] == normal(trace(xor_initial(), xor()))
    assert data["xor_train"]["params"] == normal(xor_params(xor_trained()))
    assert len(data["xor_train"]["epoch_loss_last"]) == 100
    runs = {run["network"]: run for run in data["oae"]}
    assert [run["model"] for run in data["oae"]] == ["xor-initial", "xor-trained"]
    for model, net in (("initial", xor_initial()), ("trained", xor_trained())):
        expected = [oae(net, x, "l2").distance for x in xor().x]
        assert [r["distance"] for r in runs[model]["results"]] == pytest.approx(expected,
                                                                                 abs=1e-12)
        assert all(r["certified"] for r in runs[model]["results"])
    assert [r["distance"] for r in runs["initial"]["results"]] == pytest.approx(
        [math.sqrt(2) / 4] * 4, abs=1e-9)
    sweep = jumprelu_sweep(xor_trained(), xor().x, xor().y, None, "l2", also=[0.1])  # seed's q
    assert data["jumprelu"]["best_q"] == sweep.best_q
    assert [r["distances"] for r in data["jumprelu"]["rows"]] == normal(
        [r.distances for r in sweep.rows])
    assert data["claims"] == normal(check_claims())


def test_results_json_is_deterministic(report: dict[str, Any]) -> None:
    """Same parameters (here from examples/homework.toml) -> the same bytes."""
    again = compute(load_config(REPO / "examples" / "homework.toml"))
    assert dumps(again.to_dict()) + "\n" == (report["out"] / "results.json").read_text()


# --- the PDF --------------------------------------------------------------------------------
def _sigmoid_slow_boundary(slow: float = 0.01) -> float:
    """sigma(1 - sigma) = slow  =>  sigma = (1 + sqrt(1 - 4 slow)) / 2, x = logit(sigma)."""
    s = (1 + math.sqrt(1 - 4 * slow)) / 2
    return math.log(s / (1 - s))


def key_numbers() -> list[str]:
    """Numbers the solution must show, from closed forms and direct library calls."""
    p = 1 / (1 + math.exp(0.5))
    trained = xor_params(xor_trained())
    return ([f4(p), "0.474", f4(-math.log(1 - p)), f4(math.sqrt(2) / 4),
             f4(_sigmoid_slow_boundary()), f4(-_sigmoid_slow_boundary()),
             f4(math.log(0.01 / 0.1)),                       # ELU a = 0.1: slow below ln(0.1)
             f4(float(trained["W"][0][0])), f4(float(trained["b"]))]
            + [f4(oae(xor_trained(), x, "l2").distance) for x in xor().x])


def test_pdf_shows_the_key_numbers(report: dict[str, Any]) -> None:
    text = report["pdf"]
    for number in key_numbers():
        assert number in text, number
    for heading in ("Activation functions and their gradient regions", "Backpropagation",
                    "Training", "Optimal adversarial examples", "JumpReLU as a retrofit",
                    "The seed's claims, checked", "Reproducibility"):
        assert heading in text
    counts = check_claims().counts()
    assert f"{counts['holds']} holds" in text
    assert "actlab report --out" in text


def test_html_shows_the_key_numbers(report: dict[str, Any]) -> None:
    text = re.sub(r"<[^>]+>", "", report["html"]).replace("\u2212", "-")
    for number in key_numbers():
        assert number in text, number
    assert "<math" in report["html"]


def test_html_is_self_contained(report: dict[str, Any]) -> None:
    page = report["html"]
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    assert links and all(link.startswith(("data:", "#")) for link in links)
    assert "<script" not in page and "@import" not in page and "url(" not in page


# --- the HTML in Chromium ---------------------------------------------------------------------
class Chromium:
    """Headless Chromium driven through the DevTools protocol on a pipe (fds 3 and 4,
    NUL-separated JSON messages): no websocket, no extra package."""

    def __init__(self) -> None:
        if not Path(CHROMIUM).exists():
            pytest.fail("chromium is not installed (Debian package 'chromium'; .ci/run installs "
                        "it)")
        self.profile = tempfile.mkdtemp(prefix="actlab-chromium-")
        to_chrome, from_chrome = os.pipe(), os.pipe()
        ours = (to_chrome[0], from_chrome[1])

        def pipes_on_3_and_4() -> None:
            a, b = os.dup(ours[0]), os.dup(ours[1])
            while a < 5 or b < 5:
                a, b = (os.dup(a) if a < 5 else a), (os.dup(b) if b < 5 else b)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=pipes_on_3_and_4, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome[0])
        os.close(from_chrome[1])
        self.write_fd, self.read_fd = to_chrome[1], from_chrome[0]
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.last_id = 0

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self.last_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._message(deadline))

    def open(self, url: str, width: int, height: int, mobile: bool) -> str:
        """A new page at the given viewport, navigated to url and loaded: its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}
                            )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
            session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=session)
        return result["result"]["value"]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed loads, CSP violations."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params["type"] in (
                    "error", "warning", "assert"):
                found.append(json.dumps(params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"])
        return found

    def screenshot(self, session: str) -> Image.Image:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("L")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.write_fd)
        os.close(self.read_fd)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Any:
    chromium = Chromium()
    yield chromium
    chromium.close()


IMAGES = "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"


@pytest.mark.parametrize(("width", "height", "mobile"), [(1280, 900, False), (390, 844, True)])
def test_html_in_chromium(report: dict[str, Any], browser: Chromium, width: int, height: int,
                          mobile: bool) -> None:
    session = browser.open((report["out"] / "report.html").as_uri(), width, height, mobile)
    images = browser.evaluate(session, IMAGES)
    assert len(images) == 10
    assert all(done and w > 0 and h > 0 for done, w, h in images), images
    assert browser.evaluate(session, "document.querySelectorAll('math').length") > 50
    # no horizontal scrolling of the page itself (wide tables and equations scroll inside)
    assert browser.evaluate(session, "document.documentElement.scrollWidth") <= width
    shot = browser.screenshot(session)
    assert shot.size == (width, height)
    assert ImageStat.Stat(shot).var[0] > 100  # not blank
    assert browser.problems() == []


def test_chromium_check_sees_problems(tmp_path: Path, browser: Chromium) -> None:
    """The check above can fail: a broken image and a console error are both caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><img src="data:image/png;base64,AAAA">'
                    '<script>console.error("deliberate")</script></body></html>')
    session = browser.open(page.as_uri(), 800, 600, False)
    assert browser.evaluate(session, IMAGES)[0][1] == 0
    assert any("deliberate" in p for p in browser.problems())


def test_blank_screenshot_has_no_variance() -> None:
    assert ImageStat.Stat(Image.new("L", (50, 50), 255)).var[0] == 0
    assert np.isfinite(ImageStat.Stat(Image.new("L", (5, 5), 0)).var[0])
