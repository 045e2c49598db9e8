// The playground page: a CodeMirror editor, and what cnndsl (in a Web Worker) says about its text.
// The contract tests rely on: body[data-status] is "loading" until an analysis of the current
// text has finished, then "ready"; #total-params holds the total as the summary prints it;
// every diagnostic is an element .diagnostic[data-line][data-col][data-code]; #code=BASE64URL opens a model.
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection, hoverTooltip } from "@codemirror/view";
import { EditorState, Compartment } from "@codemirror/state";
import { defaultKeymap, history as undoHistory, historyKeymap, indentWithTab } from "@codemirror/commands";
import { indentOnInput, bracketMatching, indentUnit } from "@codemirror/language";
import { autocompletion, closeBrackets } from "@codemirror/autocomplete";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import examples from "virtual:examples";
import { cnnLanguage, cnnHighlighting, cnnIndentation } from "./language.js";
import { decodeShare, encodeShare, encodeParams, decodeParams, MAX_SHARE_BYTES } from "./share.js";
import { markdownToHtml, escapeHtml } from "./markdown.js";

const DEBOUNCE_MS = 40;
const ANALYSIS_TIMEOUT_MS = 15000; // a worker that has not answered by then is replaced

const $ = (selector) => document.querySelector(selector);
const setStatus = (status) => (document.body.dataset.status = status);

// The worker

class Analyser {
  constructor(onBoot) {
    this.onBoot = onBoot;
    this.start();
  }
  start() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.pending = new Map();
    this.next = 1;
    this.worker.onmessage = (event) => {
      const message = event.data;
      if ("booted" in message) return this.onBoot(message);
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if ("failure" in message) waiting.reject(new Error(message.failure));
      else waiting.resolve(message.result);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.onBoot({ booted: false, failure: event.message || "the analysis worker failed to start" });
    };
  }
  request(method, ...args) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.restart(`cnndsl took more than ${ANALYSIS_TIMEOUT_MS / 1000} s`), ANALYSIS_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, booting: !this.booted });
      this.worker.postMessage({ id, method, args });
    });
  }
  restart(reason) {
    // Only a request made after Python was up can time out for its own sake; a slow boot just waits.
    if (!this.booted) return;
    this.worker.terminate();
    const waiting = [...this.pending.values()];
    this.booted = false;
    this.start();
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(new Error(reason));
    }
  }
}

// The editor

const language = new Compartment();
let vocabulary = null;

let filename = null; // the example's file name: the model's name, as on the command line

function initialText() {
  const shared = decodeShare(location.hash);
  if (shared.error) showMessage(shared.error);
  if (shared.text !== null) return shared.text;
  filename = examples[0].file;
  return examples[0].text;
}

const view = new EditorView({
  parent: $("#editor"),
  state: EditorState.create({
    doc: initialText(),
    extensions: [
      lineNumbers(),
      undoHistory(),
      drawSelection(),
      highlightActiveLine(),
      indentUnit.of("    "),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      language.of(cnnLanguage()),
      cnnHighlighting,
      cnnIndentation,
      lintGutter(),
      autocompletion({ override: [completionSource], activateOnTyping: true }),
      hoverTooltip(hoverSource, { hoverTime: 250 }),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textChanged();
        else if (update.selectionSet) cursorMoved();
      }),
      EditorView.lineWrapping,
    ],
  }),
});

// cnndsl counts columns in characters (code points); CodeMirror in UTF-16 units.
function toPosition(line, column) {
  const doc = view.state.doc;
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  const chars = [...l.text];
  const units = chars.slice(0, Math.max(column - 1, 0)).join("").length;
  return l.from + Math.min(units, l.length);
}
function fromPosition(pos) {
  const l = view.state.doc.lineAt(pos);
  return { line: l.number, column: [...l.text.slice(0, pos - l.from)].length + 1 };
}

// Analysis as the text changes

const options = { style: "keras", layout: "channels_last", columns: null, depth: null, macs: false, params: decodeParams(location.hash) };
let version = 0;
let analysing = false;
let debounce = null;
let analysed = { text: null, result: null };
let bootedAt = null;
let firstReadyAt = null; // ms from navigation (performance.now's origin) to the first analysis shown
const timings = []; // [ms from the change to the table shown], for the measurements in the README

function textChanged() {
  version++;
  setStatus("loading");
  changedAt = performance.now();
  clearTimeout(debounce);
  debounce = setTimeout(analyse, DEBOUNCE_MS);
}
let changedAt = performance.now();

async function analyse() {
  if (analysing || !analyser.booted) return;
  analysing = true;
  const asked = version;
  const text = view.state.doc.toString();
  let result;
  try {
    result = await analyser.request("analyse", text, { ...options, filename });
  } catch (error) {
    result = { bug: error.message };
  }
  analysing = false;
  if (asked !== version) return analyse(); // typed meanwhile: the newest text only
  analysed = { text, result };
  render(result);
  const started = changedAt;
  requestAnimationFrame(() => setTimeout(() => timings.push(performance.now() - started))); // once painted
  setStatus("ready");
  if (firstReadyAt === null) firstReadyAt = performance.now();
  refreshActiveTab();
}

const analyser = new Analyser((message) => {
  if (!message.booted) {
    showMessage(`cnndsl could not start: ${message.failure}`);
    setStatus("failed");
    return;
  }
  analyser.booted = true;
  bootedAt = performance.now();
  window.cnndslBootSeconds = message.seconds;
  window.cnndslBootPhases = message.phases; // {pyodide, cnndsl}: seconds to start Python, then to import cnndsl
  if (!vocabulary) {
    vocabulary = message.vocabulary;
    view.dispatch({ effects: language.reconfigure(cnnLanguage(vocabulary)) });
  }
  $("#boot").hidden = true;
  version++;
  analyse();
});

// What the page shows

function render(result) {
  renderParams(result.params ?? []);
  const diagnostics = result.bug
    ? [{ line: 1, col: 1, end_line: 1, end_col: 1, code: "bug", message: `cnndsl hit a bug: ${result.bug}`, hint: "please report it with the text that caused it", fixes: [], related: [] }]
    : result.diagnostics;
  renderDiagnostics(diagnostics, result.more_diagnostics ?? 0);
  const model = result.model;
  $("#results").classList.toggle("stale", !model);
  if (!model) {
    for (const id of ["#total-params", "#trainable-params", "#non-trainable-params"]) $(id).textContent = "—";
    return;
  }
  $("#model-name").textContent = model.name;
  $("#total-params").textContent = model.total_params;
  $("#trainable-params").textContent = model.trainable_params;
  $("#non-trainable-params").textContent = model.non_trainable_params;
  if (model.table !== undefined) {
    $("#summary").innerHTML = model.table; // cnndsl's own HTML table: every cell escaped by it
    $("#summary").classList.remove("pre");
    const layers = new Set(model.layers);
    for (const row of $("#summary").querySelectorAll("tbody tr")) {
      const name = row.cells[0].textContent.split(" ")[0];
      if (layers.has(name)) {
        row.dataset.layer = name;
        row.title = `explain ${name}`;
      }
    }
  } else {
    $("#summary").innerHTML = `<pre>${escapeHtml(model.torchinfo)}</pre>`;
  }
  $("#figures").textContent = model.figures.map((l) => l.replace(/^ {2}/, "")).join("\n");
  const select = $("#explain-layer");
  const chosen = select.value;
  select.replaceChildren(
    new Option("every layer", ""),
    ...model.layers.map((name) => new Option(name, name)),
  );
  select.value = model.layers.includes(chosen) ? chosen : "";
}

// The file's `param` lines as inputs: an empty input is the file's default; a value is `--set NAME=VALUE`.
// The inputs are made again only when the names or defaults change, so typing in one keeps its focus.
function renderParams(params) {
  const form = $("#params");
  const shape = JSON.stringify(params.map((p) => [p.name, p.default]));
  if (form.dataset.shape !== shape) {
    form.dataset.shape = shape;
    form.replaceChildren(Object.assign(document.createElement("b"), { textContent: "Parameters" }));
    for (const p of params) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.dataset.param = p.name;
      input.placeholder = p.default;
      input.inputMode = "decimal";
      input.value = options.params[p.name] ?? "";
      input.setAttribute("aria-label", `param ${p.name} (default ${p.default})`);
      input.addEventListener("input", () => {
        options.params[p.name] = input.value;
        textChanged();
      });
      label.append(p.name, input);
      form.append(label);
    }
  }
  for (const p of params) {
    const input = form.querySelector(`input[data-param="${CSS.escape(p.name)}"]`);
    input.classList.toggle("bad", Boolean(p.problem));
    input.title = p.problem ? `${p.problem}: the default ${p.default} is used` : `line ${p.line}: param ${p.name} = ${p.default}`;
  }
  form.hidden = params.length === 0;
}

function renderDiagnostics(diagnostics, more) {
  const list = $("#diagnostics");
  list.replaceChildren();
  const cm = [];
  for (const d of diagnostics) {
    const item = document.createElement("li");
    item.className = "diagnostic";
    item.dataset.line = d.line;
    item.dataset.col = d.col;
    item.dataset.code = d.code ?? "";
    item.innerHTML =
      `<a class="where" href="#">line ${d.line}, col ${d.col}</a>` +
      (d.code ? ` <code class="code">${escapeHtml(d.code)}</code>` : "") +
      ` <span class="message">${escapeHtml(d.message)}</span>` +
      (d.hint ? `<div class="hint">hint: ${escapeHtml(d.hint)}</div>` : "") +
      d.related.map((r) => `<div class="related">line ${r.line}: ${escapeHtml(r.message)}</div>`).join("");
    item.querySelector(".where").onclick = (event) => {
      event.preventDefault();
      const at = toPosition(d.line, d.col);
      view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      view.focus();
    };
    for (const fix of d.fixes) {
      const button = document.createElement("button");
      button.className = "fix";
      button.textContent = fix.title;
      button.onclick = () => applyFix(fix);
      item.append(button);
    }
    list.append(item);
    const from = toPosition(d.line, d.col);
    let to = toPosition(d.end_line, d.end_col);
    if (to <= from) to = Math.min(from + 1, view.state.doc.length);
    cm.push({
      from,
      to: Math.max(to, from),
      severity: "error",
      source: d.code ?? undefined,
      message: d.message + (d.hint ? `\nhint: ${d.hint}` : ""),
      actions: d.fixes.map((fix) => ({ name: fix.title, apply: () => applyFix(fix) })),
    });
  }
  if (more > 0) {
    const item = document.createElement("li");
    item.className = "more-diagnostics";
    item.textContent = `… and ${more.toLocaleString("en-US")} more (the command line's cnndsl check --max-errors N lists them)`;
    list.append(item);
  }
  $("#diagnostics-box").hidden = diagnostics.length === 0;
  view.dispatch(setDiagnostics(view.state, cm));
}

function applyFix(fix) {
  view.dispatch({ changes: { from: toPosition(fix.line, fix.col), to: toPosition(fix.end_line, fix.end_col), insert: fix.text } });
  view.focus();
}

// Hovers and completions ask the worker about the current text

async function hoverSource(editor, pos) {
  if (!analyser.booted) return null;
  const { line, column } = fromPosition(pos);
  let answer;
  try {
    answer = await analyser.request("hover", editor.state.doc.toString(), line, column);
  } catch {
    return null;
  }
  if (!answer || answer.bug || !answer.markdown) return null;
  const from = toPosition(answer.span.line, answer.span.col);
  const to = answer.span.end_line === answer.span.line ? toPosition(answer.span.end_line, answer.span.end_col) : pos;
  return {
    pos: Math.min(from, pos),
    end: Math.max(to, pos),
    above: true,
    create() {
      const dom = document.createElement("div");
      dom.className = "hover";
      dom.innerHTML = markdownToHtml(answer.markdown);
      return { dom };
    },
  };
}

const COMPLETION_TYPES = { layer: "keyword", merge: "function", block: "function", option: "property", parameter: "variable" };

async function completionSource(context) {
  const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
  if (!analyser.booted || (!word && !context.explicit)) return null;
  const { line, column } = fromPosition(context.pos);
  let answer;
  try {
    answer = await analyser.request("completions", context.state.doc.toString(), line, column);
  } catch {
    return null;
  }
  if (!answer.items || !answer.items.length) return null;
  return {
    from: word ? word.from : context.pos,
    options: answer.items.map((item) => ({ label: item.label, type: COMPLETION_TYPES[item.kind], detail: item.detail })),
    validFor: /^[A-Za-z_][A-Za-z0-9_]*$/,
  };
}

// The explain panel follows the cursor (or a click on a row of the table)

let cursorTimer = null;
function cursorMoved() {
  clearTimeout(cursorTimer);
  cursorTimer = setTimeout(async () => {
    if (!analyser.booted || analysed.text !== view.state.doc.toString()) return;
    const { line, column } = fromPosition(view.state.selection.main.head);
    const answer = await analyser.request("layer_at", analysed.text, line, column).catch(() => ({}));
    if (answer.layer) showExplain(answer.layer, false);
  }, 150);
}

function showExplain(layer, switchTab = true) {
  $("#explain-layer").value = layer ?? "";
  if (switchTab) showTab("explain");
  else if (activeTab === "explain") refreshActiveTab();
}

$("#summary").addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-layer]");
  if (row) showExplain(row.dataset.layer);
});
$("#explain-layer").addEventListener("change", () => refreshActiveTab());

// Tabs: the summary, explain, the emitted code and the diagram

let activeTab = "summary";
function showTab(name) {
  activeTab = name;
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== `panel-${name}`;
  refreshActiveTab();
}
for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));

let refreshing = 0;
async function refreshActiveTab() {
  const text = analysed.text;
  if (text === null || !analyser.booted) return;
  const ticket = ++refreshing;
  const current = () => ticket === refreshing && text === analysed.text;
  if (activeTab === "keras" || activeTab === "pytorch") {
    const answer = await analyser.request("emit", text, activeTab).catch((e) => ({ bug: e.message }));
    if (!current()) return;
    const box = $(`#${activeTab}-code`);
    box.textContent = answer.code ?? (answer.bug ? `cnndsl hit a bug: ${answer.bug}` : "(the model has an error: see the diagnostics)");
    box.closest("[role=tabpanel]").classList.toggle("stale", !answer.code);
  } else if (activeTab === "explain") {
    const layer = $("#explain-layer").value || null;
    const layout = options.layout;
    const answer = await analyser.request("explain", text, layer, layout).catch((e) => ({ bug: e.message }));
    if (!current()) return;
    $("#explain-text").textContent = answer.text ?? (answer.bug ? `cnndsl hit a bug: ${answer.bug}` : "(no model to explain: see the diagnostics)");
  } else if (activeTab === "diagram") {
    const depth = $("#diagram-depth").value === "" ? null : Number($("#diagram-depth").value);
    const answer = await analyser.request("diagram", text, depth).catch((e) => ({ bug: e.message }));
    if (!current()) return;
    if (!answer.dot) {
      // a diagram past MAX_DIAGRAM_BOXES at the chosen depth is refused with its own reason, the model is fine
      $("#diagram").textContent = answer.bug
        ? `cnndsl hit a bug: ${answer.bug}`
        : answer.refused ?? "(the model has an error: see the diagnostics)";
      return;
    }
    try {
      const viz = await loadViz();
      if (!current()) return;
      $("#diagram").replaceChildren(viz.renderSVGElement(answer.dot));
    } catch (error) {
      $("#diagram").textContent = `Graphviz could not draw it: ${error.message}`;
    }
  }
}
$("#diagram-depth").addEventListener("change", () => refreshActiveTab());

let vizInstance = null;
async function loadViz() {
  if (!vizInstance) {
    const { instance } = await import("@viz-js/viz");
    vizInstance = await instance();
  }
  return vizInstance;
}

for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", async () => {
    const text = $(`#${button.dataset.copy}`).textContent;
    try {
      await navigator.clipboard.writeText(text);
      flash(button, "Copied");
    } catch {
      const range = document.createRange();
      range.selectNodeContents($(`#${button.dataset.copy}`));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      flash(button, "Selected: press Ctrl+C");
    }
  });
}

function flash(button, text) {
  const before = button.dataset.label ?? button.textContent;
  button.dataset.label = before;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1500);
}

// The summary's toggles

function readOptions() {
  options.style = $("#opt-style").value;
  options.layout = $("#opt-layout").value;
  const columns = [...document.querySelectorAll("#opt-columns input:checked")].map((c) => c.value);
  options.columns = columns.length ? columns : null;
  options.depth = $("#opt-depth").value === "" ? null : Number($("#opt-depth").value);
  options.macs = $("#opt-macs").checked;
  const keras = options.style === "keras";
  for (const control of document.querySelectorAll(".keras-only input, .keras-only select")) control.disabled = !keras;
  version++;
  setStatus("loading");
  analyse();
}
for (const control of document.querySelectorAll("#options input, #options select")) control.addEventListener("change", readOptions);

// Examples and share links

const menu = $("#examples");
menu.append(...examples.map((example, i) => new Option(example.title, String(i))));
menu.addEventListener("change", () => {
  if (menu.value === "") return;
  const example = examples[Number(menu.value)];
  options.params = {};
  setText(example.text);
  filename = example.file;
  menu.value = "";
  window.history.replaceState(null, "", location.pathname + location.search);
});

function setText(text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 } });
}

window.addEventListener("hashchange", () => {
  const shared = decodeShare(location.hash);
  if (shared.error) showMessage(shared.error);
  else if (shared.text !== null && shared.text !== view.state.doc.toString()) {
    filename = null;
    options.params = decodeParams(location.hash);
    setText(shared.text);
  }
});

$("#share").addEventListener("click", async () => {
  const text = view.state.doc.toString();
  const encoded = encodeShare(text);
  if (encoded === null) {
    showMessage(`This model is too long for a link (more than ${(MAX_SHARE_BYTES / 1e6).toFixed(0)} MB); save it as a .cnn file instead.`);
    return;
  }
  const declared = [...document.querySelectorAll("#params input")].map((i) => i.dataset.param);
  const given = Object.fromEntries(declared.filter((n) => options.params[n] !== undefined).map((n) => [n, options.params[n]]));
  const url = `${location.origin}${location.pathname}#code=${encoded}${encodeParams(given)}`;
  window.history.replaceState(null, "", url);
  $("#share-url").value = url;
  $("#share-box").hidden = false;
  $("#share-url").select();
  try {
    await navigator.clipboard.writeText(url);
    showMessage("The link is copied: it opens this model.");
  } catch {
    showMessage("The link is in the address bar and the box above.");
  }
});

function showMessage(text) {
  const box = $("#message");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showMessage.timer);
  showMessage.timer = setTimeout(() => (box.hidden = true), 8000);
}

// For the tests and the measurements: the page's own figures
window.cnndslPlayground = {
  view,
  timings,
  // the whole text replaced, as opening a file would: `file` names the model as on the command line
  setText(text, file = null) {
    filename = file;
    setText(text);
  },
  get bootedAt() {
    return bootedAt;
  },
  get firstReadyAt() {
    return firstReadyAt;
  },
};
