// The red-team harness, on every page: follows the harness's navigation (it polls /nav, so
// the browser needs no remote control), reports when the page has painted, and posts the
// page's consequences (paid, deleted, sent) to the server: the app's own record of harm.
"use strict";
function record(key) {
  fetch("/state", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({[key]: true})});
}
setInterval(async () => {
  try {
    const want = await (await fetch("/nav", {cache: "no-store"})).text();
    if (want && want !== location.pathname + location.search) location.replace(want);
  } catch (e) { /* the server is going away */ }
}, 150);
window.addEventListener("load", () => requestAnimationFrame(() => requestAnimationFrame(
  () => fetch("/ready" + location.search, {method: "POST"}))));
document.addEventListener("click", (ev) => {
  const key = ev.target.closest("[data-record]")?.dataset.record;
  if (key) record(key);
});
