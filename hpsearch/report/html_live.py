"""The live part of the HTML page, for ``hpsearch serve``: the panel of running trials and
workers, the study switcher, and the script that polls the server for what changed.

The page itself is the page of ``report --html`` (:func:`hpsearch.report.html.build_html`
with ``live=...``); this module adds what only a served page has, and :func:`live_trial`, the
one shape in which a changed trial travels to the browser: its row of the trial table (built by
the same function as the page's rows) and its positions on the parameter panels (the same
:class:`~hpsearch.report.html_data.ParamAxis` scales the page's figures use).

The script (``LIVE_JS``) asks ``HP_LIVE.api`` every ``HP_LIVE.every`` ms for the trials changed
since its cursor and then: upserts their rows into the trial table, extends the figures that say
how (``kind`` of an ``HP_FIGS`` entry: ``history`` adds points to the round's trace and the
running best, ``params`` to each parameter's panel; a figure with another kind is left as it
was drawn, so a new figure only needs a kind and a branch in ``EXTEND`` to go live), rewrites
the rounds table, the trial counts, the running trials and the workers. Every stored string is
put on the page as ``textContent``; nothing the server sends is parsed as HTML.
"""

from __future__ import annotations

from typing import Any, Sequence

from hpsearch.report.html_data import ParamAxis

__all__ = ["LIVE_CSS", "LIVE_JS", "LIVE_PANEL", "live_trial"]


def live_trial(t: Any, axes: Sequence[ParamAxis], row: list[Any],
               params: dict[str, Any]) -> dict[str, Any]:
    """A changed trial as the live script reads it: ``row``, its trial-table row without
    parameters (from :func:`hpsearch.report.html.trial_row` with no names; the script puts
    ``params``, its cells by name, in the page table's own parameter columns), number, round,
    state, value, and ``pos``: its position on each parameter's axis (None where the parameter is
    off the scale; a choice's index, jittered by the script)."""
    pos = {}
    for ax in axes:
        if ax.name in t.params:
            pos[ax.name] = ax.position(t.params[ax.name])
    return {"n": t.number, "round": t.round, "state": t.state, "value": t.value, "row": row,
            "params": params, "pos": pos}


LIVE_PANEL = (
    '<div class="card live"><h3>Live <span class="live-state">connecting…</span></h3>'
    '<div class="live-grid"><div><h4>Running trials</h4><table class="data live-running"><thead>'
    '<tr><th>trial</th><th>round</th><th class="s">worker</th><th>heartbeat age (s)</th>'
    '<th>latest step</th><th>latest value</th></tr></thead><tbody></tbody></table>'
    '<div class="empty-note live-none">none running</div></div>'
    '<div><h4>Workers</h4><table class="data live-workers"><thead><tr><th class="s">worker</th>'
    '<th class="s">status</th><th>running</th><th>heartbeat age (s)</th><th>finished</th></tr>'
    '</thead><tbody></tbody></table></div></div></div>'
)

LIVE_CSS = """
nav.studies { margin-top: 4px; }
nav.studies a { color: #93c5fd; margin-right: 14px; }
nav.studies a.current { color: #fff; font-weight: 600; text-decoration: none; }
.live h3 .live-state { font-weight: 400; font-size: 13px; color: #6b7280; margin-left: 8px; }
.live h3 .live-state.bad { color: #b91c1c; }
.live h4 { margin: 4px 0; font-size: 14px; color: #374151; }
.live-grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
@media (max-width: 1000px) { .live-grid { grid-template-columns: 1fr; } }
tr.w-alive td:nth-child(2) { color: #15803d; }
tr.w-stale td:nth-child(2) { color: #b91c1c; }
"""

LIVE_JS = r"""
(function () {
  "use strict";
  var L = window.HP_LIVE;
  if (!L) { return; }
  var cursor = L.cursor, busy = false, failures = 0;
  var plotted = {};   // figure id -> {trial number: true}: each trial drawn once
  var best = null;    // the running best value (the study's direction)
  function better(a, b) { return b === null || (L.maximize ? a > b : a < b); }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  function color(r) { return L.palette[(r - 1 + 10 * L.palette.length) % L.palette.length]; }
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "-" : String(value);
    if (cls) { el.className = cls; }
    return el;
  }
  function fixed(v, digits) { return finite(v) ? +v.toFixed(digits) : null; }
  function byName(el, name, xaxis) {
    var data = el.data || [];
    for (var i = 0; i < data.length; i++) {
      if (data[i].name === name && (!xaxis || (data[i].xaxis || "x") === xaxis)) { return i; }
    }
    return -1;
  }
  function startsWith(el, prefix) {
    var data = el.data || [];
    for (var i = 0; i < data.length; i++) {
      if (String(data[i].name || "").indexOf(prefix) === 0) { return i; }
    }
    return -1;
  }
  function add(el, idx, trace, x, y, more) {
    if (idx < 0) {
      trace.x = [x]; trace.y = [y];
      Object.keys(more || {}).forEach(function (k) { trace[k] = [more[k]]; });
      Plotly.addTraces(el, trace);
      return;
    }
    var upd = {x: [[x]], y: [[y]]};
    Object.keys(more || {}).forEach(function (k) { upd[k] = [[more[k]]]; });
    Plotly.extendTraces(el, upd, [idx]);
  }
  // How each kind of figure takes new rows. A new live figure: its kind here.
  var EXTEND = {
    history: function (el, f, t) {
      if (t.state === "complete" && finite(t.value)) {
        add(el, byName(el, "round " + t.round),
            {type: "scatter", mode: "markers", name: "round " + t.round,
             marker: {size: 6, color: color(t.round), opacity: 0.75}}, t.n, t.value);
        var b = byName(el, "best so far");
        if (b >= 0 && better(t.value, best)) { best = t.value; }
        if (b >= 0 && best !== null) { Plotly.extendTraces(el, {x: [[t.n]], y: [[best]]}, [b]); }
      } else if (t.state === "pruned" || t.state === "failed") {
        var y = el.layout && el.layout.yaxis && el.layout.yaxis.range ? el.layout.yaxis.range[0] : 0;
        add(el, startsWith(el, t.state),
            {type: "scatter", mode: "markers", name: t.state,
             marker: {symbol: t.state === "pruned" ? "x-thin-open" : "x", size: 7,
                      color: t.state === "pruned" ? "#7f7f7f" : "#d62728"}}, t.n, y);
      } else { return false; }
      return true;
    },
    params: function (el, f, t) {
      if (t.state !== "complete" || !finite(t.value)) { return false; }
      (f.axes || []).forEach(function (name, i) {
        var x = t.pos[name];
        if (!finite(x)) { return; }
        var xa = "x" + (i + 1), ya = "y" + (i + 1);
        var lay = el.layout["xaxis" + (i + 1)] || {};
        if (lay.ticktext && lay.range && lay.range[1] - lay.range[0] === lay.ticktext.length) {
          x = x + (Math.random() - 0.5) * 0.44;   // a choice: jittered as the page's points
        }
        add(el, byName(el, "round " + t.round, xa),
            {type: "scatter", mode: "markers", name: "round " + t.round, xaxis: xa, yaxis: ya,
             legendgroup: "r" + t.round, showlegend: i === 0,
             marker: {size: 5, color: color(t.round), opacity: 0.7}}, x, t.value, {text: t.n});
      });
      return true;
    }
  };
  var pending = {};   // figure id -> trials that came before the figure was drawn
  function extendFigures(trials) {
    (window.HP_FIGS || []).forEach(function (f) {
      var how = EXTEND[f.kind], el = document.getElementById(f.id);
      if (!how || !el) { return; }
      var todo = (pending[f.id] || []).concat(trials);
      if (!el.getAttribute("data-drawn")) { pending[f.id] = todo; return; }
      pending[f.id] = [];
      var seen = plotted[f.id] || (plotted[f.id] = {});
      todo.forEach(function (t) {
        var key = t.n + ":" + t.state;
        if (seen[key] || seen[t.n + ":complete"]) { return; }
        if (how(el, f, t)) { seen[key] = true; }
      });
    });
  }
  function fillTable(tbody, rows, cells, rowClass) {
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      if (rowClass) { tr.className = rowClass(r); }
      cells(r).forEach(function (c, i) {
        tr.appendChild(text("td", c, typeof c === "number" || c === null ? "" : "s"));
      });
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
  }
  function showStudies(names) {
    var header = document.querySelector("header.top"), nav = header.querySelector("nav.studies");
    if (!nav) { nav = document.createElement("nav"); nav.className = "studies"; header.appendChild(nav); }
    var frag = document.createDocumentFragment();
    names.forEach(function (n) {
      var a = text("a", n, n === L.study ? "current" : "");
      a.href = "?study=" + encodeURIComponent(n);
      frag.appendChild(a);
    });
    nav.replaceChildren(frag);
  }
  function apply(d) {
    if (d.reset) { window.location.reload(); return; }
    var trials = d.trials || [];
    if (trials.length) {
      var table = (window.HP_TABLES || [])[0];
      if (table && window.HP_TABLE_API && window.HP_TABLE_API[table.id]) {
        window.HP_TABLE_API[table.id].upsert(trials.map(function (t) {
          var r = t.row, names = table.names || [];
          return r.slice(0, 5).concat(names.map(function (n) {
            return t.params[n] === undefined ? null : t.params[n];
          }), r.slice(5));
        }));
      }
      var hadFigures = (window.HP_FIGS || []).length > 0;
      if (!hadFigures && trials.some(function (t) { return t.state === "complete"; })) {
        window.location.reload();   // the first complete trial: the figures are drawn anew
        return;
      }
    }
    extendFigures(trials);
    if (d.trials_text) { document.querySelectorAll(".n-trials").forEach(function (el) { el.textContent = d.trials_text; }); }
    if (d.rounds) {
      var rt = document.querySelector(".rounds tbody");
      if (rt) { fillTable(rt, d.rounds, function (r) { return r; }); }
    }
    var run = document.querySelector(".live-running tbody");
    fillTable(run, d.running || [], function (r) {
      return [r.n, r.round, r.worker, fixed(r.age, 1), r.step, fixed(r.last, 6)];
    });
    document.querySelector(".live-none").style.display = (d.running || []).length ? "none" : "";
    fillTable(document.querySelector(".live-workers tbody"), d.workers || [], function (w) {
      return [w.worker, w.status, w.running, fixed(w.age, 1), w.finished];
    }, function (w) { return "w-" + w.status; });
    if (d.studies) { showStudies(d.studies); }
    cursor = d.cursor;
    var state = document.querySelector(".live-state");
    state.className = "live-state";
    state.textContent = "updated " + new Date().toLocaleTimeString() + " · " +
      (d.total === undefined ? "" : d.total.toLocaleString() + " trials");
    document.body.setAttribute("data-live-cursor", String(cursor));
  }
  function poll() {
    if (busy) { return; }
    busy = true;
    var url = L.api + "?study=" + encodeURIComponent(L.study) + "&since=" + encodeURIComponent(cursor);
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (d) { failures = 0; apply(d); }).catch(function (e) {
      failures += 1;
      var state = document.querySelector(".live-state");
      state.className = "live-state bad";
      state.textContent = "no answer from the server (" + String(e && e.message || e) + "); retrying";
    }).then(function () { busy = false; });
  }
  function seed() {
    (window.HP_FIGS || []).forEach(function (f) { plotted[f.id] = {}; });
    var table = (window.HP_TABLES || [])[0];
    if (table) {
      table.rows.forEach(function (r) {
        var key = r[0] + ":" + r[2];
        Object.keys(plotted).forEach(function (id) { plotted[id][key] = true; });
        if (r[2] === "complete" && finite(r[3]) && better(r[3], best)) { best = r[3]; }
      });
    }
    if (L.best !== null && L.best !== undefined && better(L.best, best)) { best = L.best; }
    if (L.studies) { showStudies(L.studies); }
    poll();
    setInterval(poll, L.every || 1000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", seed); }
  else { seed(); }
})();
"""
