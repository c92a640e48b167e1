// What the idr-graph pages share: requests to this server, and small DOM helpers.
"use strict";

window.idr = (() => {
  // A JSON answer of this server, `{status, body}`. A 429 is waited out as the server
  // asks (Retry-After) and tried again, up to `attempts` times in all.
  async function fetchJson(url, options = {}, attempts = 3) {
    const response = await fetch(url, options);
    if (response.status === 429 && attempts > 1) {
      const wait = parseInt(response.headers.get("retry-after") || "1", 10);
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 30) * 1000));
      return fetchJson(url, options, attempts - 1);
    }
    if (response.status === 429) {
      const wait = response.headers.get("retry-after") || "a few";
      throw new Error(`rate limited: try again in ${wait} s`);
    }
    const type = response.headers.get("content-type") || "";
    if (!type.includes("json")) {
      throw new Error(`the server answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    return { status: response.status, body: await response.json() };
  }

  // POSTs IDR-QL text to /ql (`run: false` only checks it).
  function postQl(text, { run = true, signal } = {}) {
    return fetchJson(run ? "/ql" : "/ql?run=false", {
      method: "POST",
      headers: { "content-type": "application/x-idr-ql" },
      body: text,
      signal,
    });
  }

  // An element with text and, optionally, a class.
  function text(tag, content, className) {
    const element = document.createElement(tag);
    element.textContent = content;
    if (className) element.className = className;
    return element;
  }

  // One IDR-QL diagnostic of /ql as a list item: position, severity and code, message,
  // and its help on a line of its own.
  function diagnosticItem(d) {
    const li = document.createElement("li");
    li.className = d.severity;
    li.dataset.code = d.code;
    li.append(
      text("span", `${d.line}:${d.column} ${d.severity}[${d.code}] `, "where"),
      text("span", d.message, "message"),
    );
    if (d.help) li.append(text("span", `help: ${d.help}`, "help"));
    return li;
  }

  return { fetchJson, postQl, text, diagnosticItem };
})();
