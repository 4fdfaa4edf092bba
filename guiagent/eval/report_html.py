"""A self-contained HTML page for a MiniWoB results.json: the per-task table, the latency
breakdown, and every failure with its reason, actions and first frame (inlined as PNG)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

_CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.ok{color:#187a18}.mid{color:#a66b00}.bad{color:#b01515}.fail{margin:10px 0;padding:8px;border-left:4px solid #b01515;
background:#fafafa}.fail img{float:right;max-width:160px;border:1px solid #ccc;margin-left:8px}code{font-size:12px}
.clear{clear:both}"""


def _rate_class(rate: float) -> str:
    return "ok" if rate >= 0.95 else "mid" if rate >= 0.7 else "bad"


def _img(path: str | None) -> str:
    if not path or not Path(path).exists():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="first frame">'


def render(results: dict[str, Any]) -> str:
    e = html.escape
    tasks = results.get("tasks", {})
    rows = "".join(
        f"<tr><td>{e(name)}</td><td class='{_rate_class(t['success_rate'])}'>{t['success_rate']:.0%}</td>"
        f"<td>{t['successes']}/{t['episodes']}</td><td>{t.get('median_steps') or 0:g}</td>"
        f"<td>{t.get('median_step_ms') or 0:.0f}</td><td>{t.get('mean_reward', 0):.2f}</td>"
        f"<td>{t.get('instruction_misread', 0)}</td></tr>"
        for name, t in tasks.items())
    lat = "".join(f"<tr><td>{e(k)}</td><td>{v:.0f}</td></tr>" for k, v in results.get("latency_ms", {}).items())
    fails = []
    for name, t in tasks.items():
        for f in t.get("failures", []):
            misread = (f"<div>read: <code>{e(f['instruction'])}</code><br>true: <code>{e(f['utterance'])}</code></div>"
                       if "utterance" in f else f"<div>task: <code>{e(f.get('instruction', ''))}</code></div>")
            acts = "".join(f"<li><code>{e(a)}</code></li>" for a in f.get("actions", []))
            fails.append(f"<div class='fail'>{_img(f.get('frame'))}<b>{e(name)}</b> seed {f['seed']}: "
                         f"{e(f['reason'])}{misread}<ol>{acts}</ol><div class='clear'></div></div>")
    mean = results.get("mean_success")
    head = f"mean success {mean:.1%}" if isinstance(mean, float) else "no episodes"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>MiniWoB++ results</title>"
            f"<style>{_CSS}</style></head><body><h1>MiniWoB++ (screen-level): {e(head)}</h1>"
            f"<p>task text from: {e(str(results.get('instruction_source', 'screen')))}</p>"
            "<table><tr><th>task</th><th>success</th><th>episodes</th><th>median steps</th>"
            f"<th>median step ms</th><th>mean reward</th><th>instruction misread</th></tr>{rows}</table>"
            f"<h2>Median latency per stage (ms)</h2><table>{lat}</table>"
            f"<h2>Failures ({len(fails)})</h2>{''.join(fails) or '<p>none</p>'}</body></html>")


def write_report(results: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results), encoding="utf-8")
    return path
