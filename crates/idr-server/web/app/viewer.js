// The plate viewer: one GraphQL query for the grid, every well's image and key/values,
// then the thumbnails in batches through GET /thumbnails?ids=…, all from this server.
"use strict";

const plateId = location.pathname.split("/").filter(Boolean).pop();
const params = new URLSearchParams(location.search);
let field = Math.max(0, parseInt(params.get("field") || "0", 10) || 0);

const title = document.getElementById("title");
const summary = document.getElementById("summary");
const grid = document.getElementById("grid");
const details = document.getElementById("details");
const fieldSelect = document.getElementById("field");
const qlForm = document.getElementById("ql-form");
const qlText = document.getElementById("ql-text");
const qlStatus = document.getElementById("ql-status");
const qlDiagnostics = document.getElementById("ql-diagnostics");

const PLATE_QUERY = `query Plate($id: ID!, $field: Int!) {
  plate(id: $id) {
    idrId
    name
    fieldCount
    rowLabels
    columnLabels
    webclientUrl
    screen { id name }
    wells(field: $field) {
      idrId
      row
      column
      label
      images { idrId name viewerUrl keyValues { key value } }
    }
  }
}`;

// Thumbnails asked per request: a row or two of a large plate at a time, so the grid
// fills in as they come.
const THUMBNAIL_BATCH = 96;

// A well's element and data, by image id.
const byImage = new Map();

const { fetchJson, text } = idr;

function graphql(query, variables) {
  return fetchJson("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables, operationName: "Plate" }),
  });
}

function placeholder(label, why) {
  const box = document.createElement("span");
  box.className = "placeholder";
  box.append(text("strong", label), text("small", why));
  return box;
}

function pairsOf(well) {
  const image = (well.images || [])[0];
  // IDR curates a well's biology (gene, phenotype, …) on its images.
  return (image && image.keyValues) || [];
}

function showDetails(well) {
  const image = (well.images || [])[0];
  details.replaceChildren();
  details.append(text("h2", `Well ${well.label}`));
  if (image) details.append(text("p", image.name || `image ${image.idrId}`, "idr-muted"));
  const pairs = pairsOf(well);
  if (pairs.length === 0) {
    details.append(text("p", "No key/values.", "idr-muted"));
  } else {
    const dl = document.createElement("dl");
    for (const p of pairs) dl.append(text("dt", p.key), text("dd", p.value));
    details.append(dl);
  }
  if (image) details.append(text("p", "Click to open in IDR's viewer.", "idr-muted"));
}

function render(plate) {
  title.textContent = plate.name || `Plate ${plate.idrId}`;
  document.title = `idr-graph · ${title.textContent}`;
  const rows = plate.rowLabels || [];
  const columns = plate.columnLabels || [];
  const cell = Math.max(24, Math.min(72, Math.floor((window.innerWidth - 420) / Math.max(columns.length, 1))));
  grid.style.setProperty("--columns", String(columns.length));
  grid.style.setProperty("--cell", `${cell}px`);
  grid.replaceChildren();
  byImage.clear();
  const wells = new Map((plate.wells || []).map((w) => [`${w.row},${w.column}`, w]));
  grid.append(text("span", "", "label corner"));
  for (const c of columns) grid.append(text("span", c, "label column-label"));
  rows.forEach((rowLabel, r) => {
    grid.append(text("span", rowLabel, "label row-label"));
    columns.forEach((columnLabel, c) => {
      const well = wells.get(`${r},${c}`);
      const image = well && (well.images || [])[0];
      if (!well || !image) {
        const empty = text("span", "", "empty");
        empty.title = `${rowLabel}${columnLabel}: no image at this field`;
        grid.append(empty);
        return;
      }
      const a = document.createElement("a");
      a.className = "well";
      a.href = image.viewerUrl;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.dataset.image = image.idrId;
      a.dataset.well = well.idrId;
      a.dataset.label = well.label;
      a.setAttribute("aria-label", `Well ${well.label}, image ${image.idrId}`);
      a.append(placeholder(well.label, "loading…"));
      a.addEventListener("mouseenter", () => showDetails(well));
      a.addEventListener("focus", () => showDetails(well));
      grid.append(a);
      byImage.set(String(image.idrId), { element: a, well });
    });
  });
  const count = byImage.size;
  const screen = plate.screen ? ` · screen ${plate.screen.name}` : "";
  summary.textContent =
    `${count} wells with an image at field ${field + 1} of ${plate.fieldCount || 1}${screen}`;
  fieldSelect.replaceChildren();
  for (let f = 0; f < (plate.fieldCount || 1); f++) {
    const option = text("option", `${f + 1}`);
    option.value = String(f);
    if (f === field) option.selected = true;
    fieldSelect.append(option);
  }
  fieldSelect.disabled = (plate.fieldCount || 1) < 2;
  if (!qlText.value) qlText.value = `images in plate ${plate.idrId} where `;
}

// Bumped by every load: the work of an earlier one (another field) stops.
let generation = 0;

async function loadThumbnails(mine) {
  const ids = [...byImage.keys()];
  let loaded = 0;
  for (let i = 0; i < ids.length; i += THUMBNAIL_BATCH) {
    if (mine !== generation) return;
    const chunk = ids.slice(i, i + THUMBNAIL_BATCH);
    let answer;
    try {
      const { status, body } = await fetchJson(`/thumbnails?ids=${chunk.join(",")}`);
      if (status !== 200) {
        // The whole request was refused (a timeout, say): every well of it says why.
        const e = (body.errors || [])[0] || {};
        throw Object.assign(new Error(e.message || `HTTP ${status}`), { code: e.extensions && e.extensions.code });
      }
      answer = body;
    } catch (error) {
      answer = { thumbnails: {}, errors: [{ ids: chunk, message: error.message || String(error), extensions: { code: error.code || "FAILED" } }] };
    }
    if (mine !== generation) return;
    for (const e of answer.errors || []) {
      const code = (e.extensions && e.extensions.code) || "ERROR";
      const why = code === "NOT_RECORDED" ? "not recorded" : "unavailable";
      for (const id of e.ids || []) {
        const entry = byImage.get(String(id));
        if (!entry) continue;
        entry.element.replaceChildren(placeholder(entry.well.label, why));
        entry.element.title = `${entry.well.label}: no thumbnail (${code}: ${e.message})`;
      }
    }
    for (const [id, uri] of Object.entries(answer.thumbnails || {})) {
      const entry = byImage.get(id);
      if (!entry) continue;
      if (uri === null) {
        entry.element.replaceChildren(placeholder(entry.well.label, "no thumbnail"));
        entry.element.title = `${entry.well.label}: IDR has no thumbnail for this image`;
        continue;
      }
      const img = document.createElement("img");
      img.alt = `Well ${entry.well.label}`;
      img.decoding = "async";
      img.addEventListener("error", () => {
        entry.element.replaceChildren(placeholder(entry.well.label, "unreadable"));
      });
      img.src = uri;
      entry.element.replaceChildren(img);
      loaded += 1;
    }
  }
  summary.dataset.thumbnails = String(loaded);
}

async function load() {
  const mine = ++generation;
  summary.textContent = "Loading the plate…";
  delete summary.dataset.ready;
  let answer;
  try {
    answer = (await graphql(PLATE_QUERY, { id: plateId, field })).body;
  } catch (error) {
    summary.className = "error-text";
    summary.textContent = `The plate could not be loaded: ${error.message || error}`;
    return;
  }
  const plate = answer.data && answer.data.plate;
  const errors = answer.errors || [];
  if (!plate) {
    summary.className = "error-text";
    summary.textContent = errors.length
      ? `The plate could not be loaded: ${errors.map((e) => e.message).join("; ")}`
      : `IDR has no plate ${plateId}.`;
    return;
  }
  if (mine !== generation) return;
  render(plate);
  if (errors.length) {
    summary.className = "error-text";
    summary.textContent += ` (partly: ${errors[0].message}${errors.length > 1 ? ` and ${errors.length - 1} more` : ""})`;
  } else {
    summary.className = "idr-muted";
  }
  await loadThumbnails(mine);
  if (mine === generation) summary.dataset.ready = "true";
}

async function highlight(event) {
  event.preventDefault();
  const query = qlText.value.trim();
  qlDiagnostics.replaceChildren();
  if (!query) return clear();
  qlStatus.textContent = "running…";
  let answer;
  try {
    answer = (await idr.postQl(query)).body;
  } catch (error) {
    qlStatus.textContent = String(error.message || error);
    return;
  }
  for (const d of answer.diagnostics || []) qlDiagnostics.append(idr.diagnosticItem(d));
  const ids = new Set();
  const failures = [];
  let truncated = false;
  for (const q of answer.queries || []) {
    for (const row of q.rows || []) if (row.id != null) ids.add(String(row.id));
    for (const e of q.errors || []) failures.push(e.message);
    truncated = truncated || q.truncated;
  }
  if (!answer.queries || answer.queries.length === 0) {
    qlStatus.textContent = "Nothing ran: fix the query first.";
    return;
  }
  grid.classList.add("filtering");
  let matched = 0;
  for (const [id, entry] of byImage) {
    const match = ids.has(id);
    entry.element.classList.toggle("match", match);
    if (match) matched += 1;
  }
  qlStatus.textContent = `${matched} of ${byImage.size} wells match` +
    (truncated ? `, among the first ${ids.size} rows only (the server sends at most that many)` : "") +
    (failures.length ? ` (errors: ${failures.join("; ")})` : "");
}

function clear() {
  grid.classList.remove("filtering");
  for (const entry of byImage.values()) entry.element.classList.remove("match");
  qlStatus.textContent = "";
  qlDiagnostics.replaceChildren();
}

fieldSelect.addEventListener("change", () => {
  field = parseInt(fieldSelect.value, 10) || 0;
  const url = new URL(location.href);
  url.searchParams.set("field", String(field));
  history.replaceState(null, "", url);
  clear();
  load();
});
qlForm.addEventListener("submit", highlight);
document.getElementById("ql-clear").addEventListener("click", clear);

load();
