// The IDR-QL playground: checks the text through `POST /ql?run=false` as the user types
// (nothing runs upstream), and runs it through `POST /ql` on demand. The text is kept in
// the address (#q=…), so a query can be shared as a link.
"use strict";

const editor = document.getElementById("ql");
const runButton = document.getElementById("run");
const status = document.getElementById("status");
const diagnosticsList = document.getElementById("diagnostics");
const graphqlText = document.getElementById("graphql-text");
const result = document.getElementById("result");
const example = document.getElementById("example");

const CHECK_DELAY_MS = 250;
let checkTimer = null;
let checkSeq = 0;
let runSeq = 0;
let inflightCheck = null;

// Spans from the server are byte offsets into the UTF-8 text; the textarea counts UTF-16
// units.
function byteToIndex(text, byte) {
  const bytes = new TextEncoder().encode(text);
  return new TextDecoder().decode(bytes.slice(0, Math.max(0, Math.min(byte, bytes.length)))).length;
}

function showDiagnostics(text, diagnostics) {
  diagnosticsList.replaceChildren();
  for (const d of diagnostics) {
    const li = idr.diagnosticItem(d);
    li.title = "select the text this is about";
    li.addEventListener("click", () => {
      const start = byteToIndex(text, d.span.start);
      const end = byteToIndex(text, d.span.end);
      editor.focus();
      editor.setSelectionRange(start, Math.max(start + 1, end));
    });
    diagnosticsList.append(li);
  }
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (diagnostics.length === 0) {
    status.className = "ql-ok";
    status.textContent = "✓ no problems";
  } else {
    status.className = errors ? "error-text" : "";
    status.textContent = `${errors} error(s), ${warnings} warning(s)`;
  }
}

function showGraphql(queries) {
  graphqlText.replaceChildren();
  for (const q of queries) {
    const pre = document.createElement("pre");
    pre.textContent = q.graphql;
    graphqlText.append(pre);
  }
}

async function check() {
  const text = editor.value;
  location.replace("#q=" + encodeURIComponent(text));
  if (inflightCheck) inflightCheck.abort();
  inflightCheck = new AbortController();
  const seq = ++checkSeq;
  try {
    const answer = (await idr.postQl(text, { run: false, signal: inflightCheck.signal })).body;
    if (seq !== checkSeq) return;
    showDiagnostics(text, answer.diagnostics);
    showGraphql(answer.queries);
  } catch (error) {
    if (error.name === "AbortError") return;
    status.className = "error-text";
    status.textContent = String(error.message || error);
  }
}

function cell(value) {
  const td = document.createElement("td");
  if (value === null || value === undefined) {
    td.className = "idr-muted";
    td.textContent = "—";
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (i) td.append(document.createElement("br"));
      td.append(String(v));
    });
  } else if (typeof value === "string" && /^https?:\/\//.test(value)) {
    const a = document.createElement("a");
    a.href = value;
    a.textContent = value;
    a.rel = "noreferrer";
    td.append(a);
  } else {
    td.textContent = String(value);
  }
  return td;
}

function table(query, text) {
  const section = document.createElement("div");
  section.className = "query-result";
  const h2 = document.createElement("h2");
  const source = text.slice(byteToIndex(text, query.span.start), byteToIndex(text, query.span.end));
  h2.textContent = source.split("\n").filter((l) => !l.trim().startsWith("#")).join(" ").trim();
  section.append(h2);
  for (const e of query.errors || []) {
    const p = document.createElement("p");
    p.className = "error-text";
    const code = e.extensions && e.extensions.code ? ` (${e.extensions.code})` : "";
    p.textContent = `${e.message}${code}`;
    section.append(p);
  }
  // The header is every key the rows have, in first-seen order (a `show` of a nested
  // object gives several columns), or the compiled columns when there are no rows.
  const keys = [];
  for (const row of query.rows) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
  const columns = keys.length ? keys : query.columns;
  const count = document.createElement("p");
  count.className = "idr-muted row-count";
  count.textContent = `${query.rows.length} row(s)${query.truncated ? ", truncated" : ""}`;
  section.append(count);
  if (query.rows.length) {
    const wrap = document.createElement("div");
    wrap.className = "rows-wrap";
    const t = document.createElement("table");
    t.className = "rows";
    const head = t.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c;
      head.append(th);
    }
    const body = t.createTBody();
    for (const row of query.rows) {
      const tr = body.insertRow();
      for (const c of columns) tr.append(cell(row[c]));
    }
    wrap.append(t);
    section.append(wrap);
  }
  return section;
}

async function run() {
  const text = editor.value;
  const seq = ++runSeq;
  runButton.disabled = true;
  status.className = "";
  status.textContent = "running…";
  result.setAttribute("aria-busy", "true");
  try {
    const answer = (await idr.postQl(text)).body;
    if (seq !== runSeq) return;
    showDiagnostics(text, answer.diagnostics);
    showGraphql(answer.queries);
    result.replaceChildren(...answer.queries.map((q) => table(q, text)));
    const rows = answer.queries.reduce((n, q) => n + q.rows.length, 0);
    if (!answer.diagnostics.some((d) => d.severity === "error")) {
      status.className = "ql-ok";
      status.textContent = `✓ ${answer.queries.length} query(ies), ${rows} row(s)`;
    }
  } catch (error) {
    status.className = "error-text";
    status.textContent = String(error.message || error);
  } finally {
    result.removeAttribute("aria-busy");
    runButton.disabled = false;
  }
}

editor.addEventListener("input", () => {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, CHECK_DELAY_MS);
});
editor.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    run();
  }
});
runButton.addEventListener("click", run);
example.addEventListener("change", () => {
  if (!example.value) return;
  editor.value = example.value;
  example.value = "";
  check();
});

const shared = new URLSearchParams(location.hash.slice(1)).get("q");
if (shared !== null) editor.value = shared;
check();
