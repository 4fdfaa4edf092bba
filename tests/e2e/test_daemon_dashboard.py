"""Operations end to end: /metrics (parsed with prometheus-client, checked against the store) and
the fleet dashboard driven in real Chromium (Debian's chromium + chromedriver through Selenium):
log in, submit a task, watch it finish on the phone, read its trajectory, approve a held action."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from waiting import wait_until

from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.fleet import AdbServer
from guiagent.daemon.server import Daemon

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.timeout(240)

TOKEN = "dashboard-test-token-0123456789"
TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}


@pytest.fixture(scope="module")
def daemon(adb: AdbServer, phone: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    db = tmp_path_factory.mktemp("dashboard") / "queue.db"
    config = DaemonConfig(db=db, port=0, token=TOKEN, devices=(phone.serial,), adb_port=adb.port, ocr=False,
                          heartbeat_s=0.2, lease_s=5.0, allow_apps=frozenset({"Settings", "Notes"}), max_steps=10,
                          max_seconds=60.0, approvals=True)
    d = Daemon(config).start().serve_in_thread()
    try:
        http = httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        wait_until(lambda: http.get("/health").json()["devices"]["online"] == 1, 30, "the phone online")
        yield d
    finally:
        d.stop()


@pytest.fixture()
def http(daemon: Daemon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=daemon.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        yield c


def finish(http: httpx.Client, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_until(lambda: (t := http.get(f"/tasks/{task_id}").json())["status"] in TERMINAL and t, timeout,
                      f"task {task_id} done")


def host_of(http: httpx.Client, daemon: Daemon) -> str:
    """The host id the fleet's device rows carry for this daemon (its daemon id before hosts had ids)."""
    return str(http.get("/devices").json()[0].get("host") or daemon.daemon_id)


def scrape(http: httpx.Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics as {sample name: {sorted labels: value}}."""
    from prometheus_client.parser import text_string_to_metric_families

    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_match_the_store(daemon: Daemon, http: httpx.Client, phone: Any) -> None:
    bare = httpx.Client(base_url=daemon.url, timeout=10)
    assert bare.get("/metrics").status_code == 401  # same auth as the API
    assert bare.get("/metrics", headers={"Authorization": "Bearer wrong-token-000000"}).status_code == 401
    before = scrape(http)
    here = host_of(http, daemon)
    assert before["guiagent_devices"][(("host", here), ("state", "idle"))] == 1
    assert before["guiagent_devices"][(("host", here), ("state", "busy"))] == 0
    done_before = sum(before.get("guiagent_tasks_finished_total", {}).values())

    phone.reset()
    marks = ("metrics-mark-1", "metrics-mark-2")
    ids = [http.post("/tasks", json={"task": f'go home, open Notes, type "{m}" into the note field and press enter'})
           .json()["id"] for m in marks]
    cancelled = http.post("/tasks", json={"task": "Open Settings", "device": phone.serial})
    assert http.post(f"/tasks/{cancelled.json()['id']}/cancel").status_code == 200
    done = [finish(http, i) for i in ids]
    outcomes = [t["status"] for t in done]
    assert outcomes == ["succeeded", "succeeded"], [(t["status"], t["error"]) for t in done]
    assert [n for n in phone.state.values["notes"] if n in marks] == list(marks)  # the phone's own state

    after = scrape(http)
    counts = http.get("/health").json()["queue"]
    queue = {dict(k)["status"]: v for k, v in after["guiagent_queue_tasks"].items()}
    assert queue == {s: float(counts.get(s, 0)) for s in queue} and set(counts) <= set(queue)
    finished = {dict(k)["outcome"]: v for k, v in after["guiagent_tasks_finished_total"].items()}
    assert sum(finished.values()) - done_before == 3
    assert finished["succeeded"] >= 2 and finished["cancelled"] >= 1
    # the duration histogram saw the two tasks that ran (the cancelled one never started)
    assert after["guiagent_task_duration_seconds_count"][()] - \
        before.get("guiagent_task_duration_seconds_count", {}).get((), 0) == 2
    assert after["guiagent_task_duration_seconds_sum"][()] > 0
    assert after["guiagent_lease_expiries_total"][()] == 0
    assert wait_until(lambda: scrape(http)["guiagent_devices"][(("host", here), ("state", "idle"))] == 1,
                      10, "the phone idle again")


def test_metrics_count_a_lease_expiry_and_its_retry(daemon: Daemon, http: httpx.Client) -> None:
    store = daemon.store
    assert store is not None
    before = scrape(http)
    # an attempt whose owner vanished: claimed for a phone no worker serves, with a lease that runs out
    task = store.add_task("a task of a host that died", planner="rule", max_steps=1, timeout_s=10.0, max_attempts=2,
                          device="ghost-phone")
    claim = store.claim("d-gone/ghost-phone", "ghost-phone", lease_s=0.1)
    assert claim is not None and claim.task.id == task.id
    wait_until(lambda: (t := store.get_task(task.id)) is not None and t.status == "queued", 30,
               "the daemon's heartbeat reaping the expired lease")
    after = scrape(http)

    def delta(name: str, **labels: str) -> float:
        key = tuple(sorted(labels.items()))
        return after.get(name, {}).get(key, 0) - before.get(name, {}).get(key, 0)

    assert delta("guiagent_lease_expiries_total") == 1
    assert delta("guiagent_task_retries_total", outcome="interrupted") == 1
    assert http.post(f"/tasks/{task.id}/cancel").json()["status"] == "cancelled"
    final = scrape(http)
    assert final["guiagent_tasks_finished_total"][(("outcome", "cancelled"),)] == \
        after.get("guiagent_tasks_finished_total", {}).get((("outcome", "cancelled"),), 0) + 1


def _browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium.webdriver.chrome.service import Service

    from guiagent.eval.miniwob_env import CHROME_FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in (*CHROME_FLAGS, "--headless=new", "--window-size=1280,2000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def test_dashboard_in_chromium_submit_finish_and_approve(daemon: Daemon, http: httpx.Client, phone: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    phone.reset()
    driver = _browser()
    try:
        find = driver.find_element

        def visible(css: str) -> Any:
            return wait_until(lambda: next((e for e in driver.find_elements(By.CSS_SELECTOR, css)
                                            if e.is_displayed()), None), 30, css)

        def text(css: str) -> str | None:  # read in one go: the page redraws its lists every refresh
            return driver.execute_script(  # type: ignore[no-any-return]
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null", css)

        def click(css: str) -> None:  # a real click, retried when the page redrew the element meanwhile
            def once() -> bool:
                try:
                    driver.find_element(By.CSS_SELECTOR, css).click()
                    return True
                except StaleElementReferenceException:
                    return False
            wait_until(once, 10, f"clicking {css}")

        driver.get(daemon.url + "/dashboard")
        visible("#login-form")
        find(By.ID, "token").send_keys("not-the-token-0000000")
        find(By.CSS_SELECTOR, "#login-form button").click()
        wait_until(lambda: find(By.ID, "login-error").text == "wrong token", 20, "the wrong token refused")
        find(By.ID, "token").clear()
        find(By.ID, "token").send_keys(TOKEN)
        find(By.CSS_SELECTOR, "#login-form button").click()
        visible(f'.device[data-serial="{phone.serial}"]')
        assert text(f'.device[data-serial="{phone.serial}"] .state') == "idle"
        assert host_of(http, daemon) in (text(".host h3") or "")
        # the browser keeps the session: a reload needs no token
        driver.refresh()
        visible("#submit-form")
        assert not find(By.ID, "login").is_displayed()

        find(By.ID, "task-text").send_keys("Open Settings and turn on Wi-Fi")
        find(By.CSS_SELECTOR, "#submit-form button").click()
        task_id = wait_until(lambda: find(By.ID, "submit-result").get_attribute("data-task"), 20, "the task queued")
        row = f'#tasks tr[data-task="{task_id}"] .status'
        wait_until(lambda: text(row) == "succeeded", 90, "the page showing it succeeded")
        assert phone.state.values["wifi"] is True  # the phone's own state
        assert text('#queue tr[data-status="succeeded"] .count') == str(http.get("/health").json()["queue"]["succeeded"])
        # the live thumbnail of the idle phone, and the trajectory with its frames and actions
        wait_until(lambda: driver.execute_script(
            "const i = document.querySelector(arguments[0]); return i && i.complete && i.naturalWidth > 0",
            f'.device[data-serial="{phone.serial}"] img'), 30, "the device thumbnail")
        click(f'#tasks tr[data-task="{task_id}"]')
        steps = wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#trajectory-steps li.step"), 30,
                           "the trajectory")
        assert len(steps) == http.get(f"/tasks/{task_id}").json()["steps"]
        assert wait_until(lambda: driver.execute_script(
            "return [...document.querySelectorAll('#trajectory-steps img')].every(i => i.complete && i.naturalWidth)"
            " && document.querySelectorAll('#trajectory-steps img').length > 0"), 30, "the frames loaded")
        assert "succeeded" in find(By.ID, "trajectory-meta").text

        # a held action: approved on the page, with the phone's screen beside it
        phone.reset()
        find(By.ID, "task-text").send_keys("Open Wallet")
        click("#task-device option:nth-child(2)")  # this very phone (and its host)
        find(By.CSS_SELECTOR, "#submit-form button").click()
        held_id = wait_until(lambda: (t := find(By.ID, "submit-result").get_attribute("data-task")) != task_id and t,
                             20, "the second task queued")
        visible(".approval")
        card = text(".approval") or ""
        assert "Wallet" in card and held_id in card
        held_task = http.get(f"/tasks/{held_id}").json()
        assert held_task["status"] == "running" and held_task["requested_device"] == phone.serial
        assert held_task["requested_host"] == host_of(http, daemon)
        assert phone.state.package != "com.example.wallet"  # held, not run
        wait_until(lambda: driver.execute_script(
            "const i = document.querySelector('.approval img'); return i && i.complete && i.naturalWidth > 0"),
            30, "the held screen")

        def approve_on_page() -> bool:  # the foreground check may hold a second action
            for button in driver.find_elements(By.CSS_SELECTOR, ".approval button.approve"):
                try:
                    button.click()
                except StaleElementReferenceException:  # the page redrew the list meanwhile
                    pass
            return http.get(f"/tasks/{held_id}").json()["status"] in TERMINAL

        wait_until(approve_on_page, 60, "the approved task done")
        assert http.get(f"/tasks/{held_id}").json()["status"] == "succeeded"
        assert phone.state.package == "com.example.wallet"
        decided = http.get("/approvals", params={"status": "all", "task": held_id}).json()
        assert decided and all(a["status"] == "approve" for a in decided)
        wait_until(lambda: text(f'#tasks tr[data-task="{held_id}"] .status') == "succeeded", 30,
                   "the page showing the approved task succeeded")
    finally:
        driver.quit()


def test_fleet_status_prints_the_fleet(daemon: Daemon, http: httpx.Client, phone: Any, tmp_path: Any,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import os

    from guiagent.cli import main

    token_file = tmp_path / "fleet.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)

    def run(*argv: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as done:
            main(["fleet", "status", "--url", daemon.url, *argv])
        out = capsys.readouterr()
        return int(done.value.code or 0), out.out + out.err

    code, text = run("--token-file", str(token_file))
    queue = http.get("/health").json()["queue"]
    assert code == 0, text
    assert phone.serial in text and host_of(http, daemon) in text and "idle" in text
    assert f"{sum(queue.values())}" in text.split("Queue")[-1]
    code, text = run("--token-file", str(token_file), "--json")
    assert code == 0 and json.loads(text)["health"]["queue"] == queue
    assert [d["serial"] for d in json.loads(text)["devices"]] == [phone.serial]

    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-fleet-token-000\n")
    os.chmod(wrong, 0o600)
    code, text = run("--token-file", str(wrong))
    assert code == 2 and "refused the token" in text
    token_file.chmod(0o644)
    code, text = run("--token-file", str(token_file))
    assert code == 2 and "chmod 600" in text
