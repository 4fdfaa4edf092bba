// The fleet dashboard: plain DOM over the daemon's API, authenticated by the session cookie that
// POST /login sets (the token is sent once, never stored by this script). Data is written with
// textContent only: task texts and device names come from API clients.
"use strict";

const REFRESH_MS = 1500;
const $ = (id) => document.getElementById(id);
let host = "";           // this daemon's id: the host of devices whose rows name none
let shown = null;        // the task whose trajectory is open
let shownState = "";     // its status/steps when last drawn
let timer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...options,
    headers: { "Content-Type": "application/json", ...(options.headers || {}) } });
  if (r.status === 401) throw new Unauthorized();
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(`${r.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return r.json();
}

function showLogin(message) {
  clearInterval(timer); timer = null;
  $("main").hidden = true; $("logout").hidden = true; $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("token").focus();
}

async function login(event) {
  event.preventDefault();
  try {
    await api("/login", { method: "POST", body: JSON.stringify({ token: $("token").value }) });
    $("token").value = "";
    start();
  } catch (e) {
    showLogin(e instanceof Unauthorized ? "wrong token" : String(e.message || e));
  }
}

async function logout() {
  await fetch("/logout", { method: "POST", credentials: "same-origin" });
  showLogin("logged out");
}

function renderQueue(queue) {
  const body = $("queue").tBodies[0];
  const statuses = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"];
  body.replaceChildren(...statuses.map((s) => el("tr", { "data-status": s },
    el("th", { class: `status-${s}` }, s), el("td", { class: "count" }, queue[s] || 0))));
}

function picture(serial, deviceHost) {
  const img = el("img", { alt: `screen of ${serial}`, "data-serial": serial });
  const note = el("small", { class: "hint" });
  img.addEventListener("error", () => { img.hidden = true; note.textContent = "no picture from this host"; });
  img.addEventListener("load", () => { img.hidden = false; note.textContent = ""; });
  const where = deviceHost ? `&host=${encodeURIComponent(deviceHost)}` : "";
  img.src = `/devices/${encodeURIComponent(serial)}/screenshot?width=320${where}&_=${Date.now()}`;
  return [img, note];
}

function renderDevices(devices) {
  const hosts = new Map();
  for (const d of devices) {
    const h = d.host || host || "this host";
    if (!hosts.has(h)) hosts.set(h, []);
    hosts.get(h).push(d);
  }
  const blocks = [...hosts.keys()].sort().map((h) => el("div", { class: "host", "data-host": h },
    el("h3", {}, `host ${h} (${hosts.get(h).length} device${hosts.get(h).length === 1 ? "" : "s"})`),
    el("div", { class: "cards" }, ...hosts.get(h).map((d) => el("div", { class: "card device", "data-serial": d.serial,
                                                                     "data-host": h },
      ...picture(d.serial, d.host),
      el("div", {}, el("b", {}, d.serial)),
      el("div", { class: `state state-${d.state}` }, d.state),
      el("div", { class: "hint" }, d.current_task ? `task ${d.current_task}` : `${d.tasks_run} task(s) run`),
      d.error ? el("div", { class: "error" }, d.error) : "")))));
  $("devices").replaceChildren(...(blocks.length ? blocks : [el("p", { class: "empty" }, "no devices")]));
  const select = $("task-device"), chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "any device"),
    ...devices.map((d) => el("option", { value: JSON.stringify({ device: d.serial, host: d.host || null }) },
      `${d.serial} (${d.host || host})`)));
  select.value = chosen;
}

function renderTasks(tasks) {
  const rows = tasks.slice(-50).reverse().map((t) => el("tr", { "data-task": t.id, onclick: () => openTask(t.id) },
    el("td", {}, t.id), el("td", { class: `status status-${t.status}` }, t.status + (t.approval ? " (held)" : "")),
    el("td", {}, t.device || ""), el("td", {}, t.steps), el("td", {}, t.task)));
  $("tasks").tBodies[0].replaceChildren(...rows);
}

async function decide(id, decision, card) {
  for (const b of card.querySelectorAll("button")) b.disabled = true;  // one decision per approval
  try {
    await api(`/approvals/${encodeURIComponent(id)}`, { method: "POST", body: JSON.stringify({ decision }) });
    card.remove();
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin("session ended");
    card.append(el("p", { class: "error" }, `could not ${decision}: ${e.message}`));  // e.g. 409: decided elsewhere
  }
  refresh();
}

function renderApprovals(approvals, tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const open = new Set([...document.querySelectorAll(".approval")].map((n) => n.dataset.approval));
  if (approvals.length === open.size && approvals.every((a) => open.has(a.id))) return; // keep the pictures
  const cards = approvals.map((a) => {
    const task = byId.get(a.task_id);
    const card = el("div", { class: "approval", "data-approval": a.id });
    const decideBy = (decision) => () => decide(a.id, decision, card);
    card.append(
      task && task.device ? picture(task.device, task.host)[0] : el("span"),
      el("div", {},
        el("div", {}, el("b", {}, a.action)),
        el("div", {}, `why held: ${a.reason}`),
        el("div", { class: "hint" }, `task ${a.task_id}${task ? `: ${task.task}` : ""} (step ${a.step})`),
        el("p", {},
          el("button", { type: "button", class: "approve", onclick: decideBy("approve") }, "Approve"),
          el("button", { type: "button", class: "refuse", title: "the action is not done; the task goes on",
                         onclick: decideBy("skip") }, "Refuse"),
          el("button", { type: "button", class: "stop", onclick: decideBy("stop") }, "Stop the task"))));
    return card;
  });
  $("approvals").replaceChildren(...(cards.length ? cards : [el("p", { class: "empty" }, "none")]));
}

async function openTask(id) {
  shown = id;
  $("trajectory").hidden = false;
  $("trajectory-task").textContent = id;
  const steps = $("trajectory-steps");
  try {
    const task = await api(`/tasks/${encodeURIComponent(id)}`);
    $("trajectory-meta").textContent = `${task.status}: ${task.task}` + (task.error ? ` (${task.error})` : "")
      + (task.result ? ` - ${task.result.reason}` : "");
    const traj = await api(`/tasks/${encodeURIComponent(id)}/trajectory`);
    steps.replaceChildren(...traj.steps.map((s) => el("li", { class: "step" },
      s.frame_url ? el("img", { src: s.frame_url, alt: `frame of step ${s.index}` }) : "",
      el("code", {}, describe(s)), s.outcome && s.outcome.error ? el("span", { class: "error" }, ` ${s.outcome.error}`) : "")));
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin("session ended");
    steps.replaceChildren(el("li", { class: "hint" }, String(e.message || e)));
  }
}

function describe(step) {
  const a = step.action;
  if (!a) return step.thought || "(no action)";
  const args = Object.entries(a).filter(([k]) => k !== "type" && k !== "kind").map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${a.type || a.kind || "action"}(${args.join(", ")})` + (step.outcome ? ` -> ${step.outcome.status}` : "");
}

async function refresh() {
  try {
    const [health, devices, tasks, approvals] = await Promise.all([
      api("/health"), api("/devices"), api("/tasks?limit=1000"), api("/approvals")]);
    host = health.host || health.daemon;
    $("status").textContent = `${health.daemon}: ${health.devices.online} of ${health.devices.known} devices online, `
      + `${health.mode}`;
    renderQueue(health.queue); renderDevices(devices); renderTasks(tasks); renderApprovals(approvals, tasks);
    const t = shown && tasks.find((x) => x.id === shown);
    if (t && (t.status === "running" || `${t.status}/${t.steps}` !== shownState)) {
      shownState = `${t.status}/${t.steps}`;  // reload while it runs, and once when it ends
      openTask(shown);
    }
  } catch (e) {
    if (e instanceof Unauthorized) showLogin("");
    else $("status").textContent = `cannot reach the daemon: ${e.message || e}`;
  }
}

async function submit(event) {
  event.preventDefault();
  const body = { task: $("task-text").value };
  if ($("task-device").value) {  // one phone: its serial, and its host (serials repeat across hosts)
    const { device, host: onHost } = JSON.parse($("task-device").value);
    body.device = device;
    if (onHost) body.host = onHost;
  }
  try {
    const r = await api("/tasks", { method: "POST", body: JSON.stringify(body) });
    $("submit-result").textContent = `queued ${r.id}`;
    $("submit-result").dataset.task = r.id;
    $("task-text").value = "";
    refresh();
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin("session ended");
    $("submit-result").textContent = `refused: ${e.message}`;
  }
}

function start() {
  $("login").hidden = true; $("main").hidden = false; $("logout").hidden = false;
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("submit-form").addEventListener("submit", submit);
  $("logout").addEventListener("click", logout);
  fetch("/health", { credentials: "same-origin" })
    .then((r) => (r.status === 401 ? showLogin("") : start()))
    .catch((e) => showLogin(String(e)));
});
