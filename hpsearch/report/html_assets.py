"""The page's own style sheet and script (plain CSS and JavaScript, no library but plotly).

Kept as Python strings so they ship inside the package with no package-data settings. The script
draws every figure listed in ``HP_FIGS`` and runs the trial tables in ``HP_TABLES``: click a
header to sort (again to reverse), type in the box to filter (every word must appear in the row;
``col>x`` / ``col<x`` / ``col=x`` compare a column), 50 rows a page.
"""

from __future__ import annotations

CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0; background: #f3f4f6; }
header.top { background: #1f2937; color: #fff; padding: 14px 28px; }
header.top h1 { margin: 0; font-size: 20px; font-weight: 600; }
header.top .sub { color: #cbd5e1; font-size: 13px; }
header.top a { color: #93c5fd; margin-right: 14px; }
main { max-width: 1360px; margin: 0 auto; padding: 12px 24px 60px; }
section.study { margin-top: 18px; }
section.study > h2 { font-size: 22px; margin: 18px 0 8px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px 18px;
        margin: 12px 0; }
.card h3 { margin: 0 0 8px; font-size: 16px; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 6px 28px; }
.summary dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0;
  align-content: start; }
.summary dt { color: #6b7280; }
.summary dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre.cmd { background: #111827; color: #e5e7eb; padding: 8px 12px; border-radius: 6px; margin: 6px 0 0;
          overflow-x: auto; }
.fig { width: 100%; }
.empty-note { color: #6b7280; font-style: italic; padding: 18px 4px; }
.row2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0 14px; }
@media (max-width: 1000px) { .row2 { grid-template-columns: 1fr; } }
table.data { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.data th, table.data td { border-bottom: 1px solid #e5e7eb; padding: 4px 8px; text-align: right;
                               white-space: nowrap; }
table.data th { background: #f9fafb; position: sticky; top: 0; }
table.data td.s, table.data th.s { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover { background: #eef2ff; }
table.sortable th.asc::after { content: " \\25B2"; color: #4f46e5; }
table.sortable th.desc::after { content: " \\25BC"; color: #4f46e5; }
tr.state-pruned td { color: #6b7280; }
tr.state-failed td { color: #b91c1c; }
tr.best td { background: #fef9c3; }
.tablewrap { overflow-x: auto; max-height: 720px; overflow-y: auto; }
.tools { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
.tools input { padding: 5px 8px; width: 320px; border: 1px solid #d1d5db; border-radius: 5px; }
.tools button { padding: 4px 10px; border: 1px solid #d1d5db; background: #fff; border-radius: 5px;
                cursor: pointer; }
.tools .count { color: #6b7280; }
.bad { color: #b91c1c; }
"""

JS = r"""
(function () {
  "use strict";
  var CONFIG = {responsive: true, displaylogo: false};
  // One figure a task, in page order: the first screen (summary, history, table) shows while
  // the figures below it are still being drawn. data-first-ms: when the first figure was
  // drawn; data-ready (and data-ready-ms): all of them.
  function drawAll(done) {
    var figs = (window.HP_FIGS || []).slice(), k = 0;
    function next() {
      if (k >= figs.length) { done(); return; }
      var f = figs[k++], el = document.getElementById(f.id);
      if (el) { Plotly.newPlot(el, f.fig.data, f.fig.layout, CONFIG); el.setAttribute("data-drawn", "1"); }
      if (k === 1) { document.body.setAttribute("data-first-ms", String(Math.round(performance.now()))); }
      setTimeout(next, 0);
    }
    next();
  }
  function fmt(v) {
    if (v === null || v === undefined) { return "-"; }
    if (typeof v === "number") {
      if (Number.isInteger(v)) { return String(v); }
      var a = Math.abs(v);
      return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(4) : String(+v.toPrecision(6));
    }
    if (typeof v === "boolean") { return v ? "true" : "false"; }
    return String(v);
  }
  function cmp(a, b) {
    var na = (a === null || a === undefined), nb = (b === null || b === undefined);
    if (na || nb) { return na === nb ? 0 : (na ? 1 : -1); }   // missing values last
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }
  function parseTerms(text, cols) {
    return text.toLowerCase().split(/\s+/).filter(Boolean).map(function (w) {
      var m = /^([^<>=]+)(<=|>=|<|>|=)(.+)$/.exec(w);
      if (m) {
        var c = cols.map(function (x) { return x.toLowerCase(); }).indexOf(m[1]);
        if (c >= 0) { return {col: c, op: m[2], val: m[3]}; }
      }
      return {word: w};
    });
  }
  function matches(row, texts, terms) {
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i];
      if (t.word !== undefined) { if (texts.indexOf(t.word) < 0) { return false; } continue; }
      var v = row[t.col], x = parseFloat(t.val);
      if (t.op === "=") { if (fmt(v).toLowerCase() !== t.val) { return false; } continue; }
      if (typeof v !== "number" || isNaN(x)) { return false; }
      if ((t.op === "<" && !(v < x)) || (t.op === ">" && !(v > x)) ||
          (t.op === "<=" && !(v <= x)) || (t.op === ">=" && !(v >= x))) { return false; }
    }
    return true;
  }
  function setupTable(spec) {
    var root = document.getElementById(spec.id);
    if (!root) { return; }
    var table = root.querySelector("table"), tbody = table.querySelector("tbody");
    var input = root.querySelector("input.filter"), count = root.querySelector(".count");
    var prev = root.querySelector("button.prev"), next = root.querySelector("button.next");
    var cols = spec.columns, rows = spec.rows, per = spec.page || 50;
    var texts = null, view = rows.slice(), page = 0, sortCol = -1, dir = 1;
    function rowTexts() {
      if (!texts) { texts = rows.map(function (r) { return r.map(fmt).join(" ").toLowerCase(); }); }
      return texts;
    }
    function render() {
      var pages = Math.max(1, Math.ceil(view.length / per));
      page = Math.min(page, pages - 1);
      // Built node by node, every value as textContent: no stored string is ever parsed as HTML.
      var body = document.createDocumentFragment();
      view.slice(page * per, page * per + per).forEach(function (r) {
        var tr = document.createElement("tr");
        tr.className = "state-" + String(r[spec.stateCol]) + (r[0] === spec.best ? " best" : "");
        r.forEach(function (v) {
          var td = document.createElement("td");
          if (typeof v !== "number") { td.className = "s"; }
          td.textContent = fmt(v);
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      tbody.replaceChildren(body);
      count.textContent = view.length.toLocaleString() + " of " + rows.length.toLocaleString() +
        " trials · page " + (page + 1) + " / " + pages;
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
    }
    function apply() {
      var terms = parseTerms(input.value, cols);
      if (terms.length) {
        var t = rowTexts();
        view = rows.filter(function (r, i) { return matches(r, t[i], terms); });
      } else { view = rows.slice(); }
      if (sortCol >= 0) {
        view.sort(function (a, b) { var c = cmp(a[sortCol], b[sortCol]);
          if (a[sortCol] === null || b[sortCol] === null) { return c; } return dir * c; });
      }
      page = 0; render();
    }
    table.querySelectorAll("th").forEach(function (th, i) {
      th.addEventListener("click", function () {
        dir = (sortCol === i) ? -dir : 1; sortCol = i;
        table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(dir > 0 ? "asc" : "desc");
        apply();
      });
    });
    var timer = null;
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    // For the live page: rows added or replaced (by trial number), the view kept as it is
    // (filter, sort, page).
    window.HP_TABLE_API = window.HP_TABLE_API || {};
    window.HP_TABLE_API[spec.id] = {
      upsert: function (fresh) {
        var at = {};
        rows.forEach(function (r, i) { at[r[0]] = i; });
        fresh.forEach(function (r) {
          if (at[r[0]] === undefined) { at[r[0]] = rows.length; rows.push(r); }
          else { rows[at[r[0]]] = r; }
        });
        texts = null;
        var keep = page; apply(); page = keep; render();
      },
      setBest: function (n) { spec.best = n; }
    };
    render();
  }
  function start() {
    (window.HP_TABLES || []).forEach(setupTable);
    drawAll(function () {
      document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
      document.body.setAttribute("data-ready", "1");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
"""
