/**
 * The dashboard's only static files, served by the hub itself: no CDN, no build step, so it works
 * on an air-gapped machine. Kept small on purpose; everything else is server-rendered HTML.
 */
export const CSS = `
:root { --bg:#f6f7f9; --fg:#1c2430; --muted:#5b6675; --card:#fff; --line:#dde2e8; --accent:#2456c6;
  --ok:#1f8a4c; --warn:#b7791f; --bad:#c53030; --off:#6b7280; --pending:#7c8da6; }
* { box-sizing: border-box; } [hidden] { display:none !important; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header { background:#14213d; color:#fff; padding:.6rem 1rem; display:flex; flex-wrap:wrap; gap:.4rem 1rem; align-items:center; }
header .brand { font-weight:700; margin-right:auto; color:#fff; }
header nav { display:flex; flex-wrap:wrap; gap:.2rem .9rem; }
header nav a, header button.link { color:#dbe4ff; background:none; border:0; font:inherit; cursor:pointer; padding:0; }
header .who { opacity:.75; font-size:.85rem; }
header .picker { display:flex; gap:.35rem; align-items:center; } header .picker label { display:flex; gap:.35rem; align-items:center; }
header .picker select { width:auto; max-width:12rem; padding:.2rem .4rem; } .muted-inv { color:#b8c4e0; }
button.small { padding:.2rem .6rem; }
main { padding:1rem; max-width:1100px; margin:0 auto; }
h1 { font-size:1.35rem; margin:.2rem 0 1rem; } h2 { font-size:1.1rem; margin:1.4rem 0 .6rem; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(140px, 1fr)); gap:.7rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.8rem; min-width:0; }
.card .n { font-size:1.9rem; font-weight:700; } .card .l { color:var(--muted); }
.card.in-sync .n { color:var(--ok); } .card.applying .n { color:var(--warn); } .card.failed .n { color:var(--bad); } .card.offline .n { color:var(--off); }
.table-wrap { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.45rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:.8rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
tr:last-child td { border-bottom:0; }
.badge { display:inline-block; padding:.05rem .5rem; border-radius:999px; font-size:.8rem; color:#fff; background:var(--pending); white-space:nowrap; }
.badge.in-sync, .badge.succeeded, .badge.completed { background:var(--ok); }
.badge.applying, .badge.in-progress, .badge.running { background:var(--warn); }
.badge.failed, .badge.aborted, .badge.rolled-back, .badge.error { background:var(--bad); }
.badge.offline, .badge.revoked, .badge.paused, .badge.waived { background:var(--off); }
.labels code { background:#eef1f5; padding:0 .3rem; border-radius:4px; margin-right:.25rem; font-size:.85rem; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:.3rem 1rem; margin:0; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; min-width:0; overflow-wrap:anywhere; }
.wave { margin:.6rem 0; } .wave .head { display:flex; flex-wrap:wrap; justify-content:space-between; gap:.3rem; }
.bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:#e6e9ee; margin-top:.25rem; }
.bar span { display:block; height:100%; }
.bar .succeeded { background:var(--ok); } .bar .in-progress { background:var(--warn); } .bar .failed { background:var(--bad); } .bar .timed-out { background:var(--off); }
form.inline { display:inline; } .actions { display:flex; flex-wrap:wrap; gap:.5rem; }
button, .button { font:inherit; padding:.45rem .9rem; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); } button.danger { background:var(--bad); border-color:var(--bad); }
input, select { font:inherit; padding:.4rem .5rem; border:1px solid var(--line); border-radius:6px; width:100%; max-width:100%; }
.form { display:grid; gap:.7rem; max-width:480px; } .form label { display:grid; gap:.2rem; } .form .check { display:flex; gap:.4rem; align-items:center; }
.form .check input { width:auto; }
.notice { background:#fff8e6; border:1px solid #f0d28a; padding:.6rem .8rem; border-radius:6px; margin:.6rem 0; }
.error { background:#fdecec; border:1px solid #f2b8b8; padding:.6rem .8rem; border-radius:6px; margin:.6rem 0; }
.muted { color:var(--muted); } .spark { width:100%; max-width:480px; height:60px; display:block; }
.login { max-width:420px; margin:3rem auto; }
@media (max-width: 600px) { main { padding:.7rem; } th, td { padding:.4rem; } .hide-sm { display:none; } }
`;

/**
 * Live rollout progress: the page opens an EventSource on its own /stream and rewrites the wave
 * bars, counters, status and which actions are offered from each `progress` event (a RolloutView).
 */
export const ROLLOUT_JS = `
(function () {
  var root = document.getElementById("rollout");
  if (!root || !window.EventSource) return;
  var es = new EventSource(root.getAttribute("data-stream"));
  // Closed for good (signed out, the rollout gone): say so instead of showing numbers that no longer move.
  es.onerror = function () { var n = document.getElementById("stream-ended"); if (n && es.readyState === 2) n.hidden = false; };
  function pct(n, size) { return size ? (100 * n / size) + "%" : "0"; }
  // Waves are planned when a rollout starts: a page opened on a created rollout has none to update yet.
  function addWave(w) {
    var ph = root.querySelector(".placeholder"); if (ph) ph.remove();
    var el = document.createElement("div");
    el.className = "wave"; el.setAttribute("data-wave", String(w.index));
    el.innerHTML = '<div class="head"><strong>Wave ' + (w.index + 1) + ' <span class="muted">(' + w.size + ' sites)</span></strong><span class="badge"></span></div>' +
      '<div class="bar"><span class="succeeded"></span><span class="in-progress"></span><span class="failed"></span><span class="timed-out"></span></div>' +
      '<div class="muted">succeeded <span data-count="succeeded"></span> · in progress <span data-count="inProgress"></span> · failed <span data-count="failed"></span> · timed out <span data-count="timedOut"></span> · pending <span data-count="pending"></span></div>';
    root.appendChild(el);
    return el;
  }
  function text(el, v) { if (el && el.textContent !== String(v)) el.textContent = String(v); }
  es.addEventListener("progress", function (ev) {
    var v = JSON.parse(ev.data);
    var st = document.getElementById("rollout-status");
    if (st) { text(st, v.status); st.className = "badge " + v.status; }
    text(document.getElementById("rollout-waiting"), v.waitingFor || "nothing");
    text(document.getElementById("rollout-succeeded"), v.sites.succeeded + " / " + v.sites.total);
    v.waves.forEach(function (w) {
      var el = root.querySelector('[data-wave="' + w.index + '"]');
      if (!el) el = addWave(w);
      var b = el.querySelector(".badge"); if (b) { text(b, w.state); b.className = "badge " + w.state; }
      ["succeeded", "inProgress", "failed", "timedOut", "pending"].forEach(function (k) { text(el.querySelector('[data-count="' + k + '"]'), w[k]); });
      el.querySelector(".bar .succeeded").style.width = pct(w.succeeded, w.size);
      el.querySelector(".bar .in-progress").style.width = pct(w.inProgress, w.size);
      el.querySelector(".bar .failed").style.width = pct(w.failed, w.size);
      el.querySelector(".bar .timed-out").style.width = pct(w.timedOut, w.size);
    });
    document.querySelectorAll("[data-when]").forEach(function (f) {
      f.hidden = f.getAttribute("data-when").split(",").indexOf(v.status) < 0 ||
        (f.getAttribute("data-manual") === "1" && v.strategy.approval !== "manual");
    });
    root.setAttribute("data-updates", String(Number(root.getAttribute("data-updates") || "0") + 1));
  });
})();
`;
