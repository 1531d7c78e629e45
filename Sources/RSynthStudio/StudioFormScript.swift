extension StudioScripts {
    /// The new-run form, built from the pipeline's JSON Schema; problems shown at their fields.
    static let form = #"""
// The new-run form, built from the pipeline's JSON Schema (the plugins' own parameter
// declarations): a plugin per section, a field per parameter with its default, range and doc.
// The server writes the YAML, checks it as `rsynth validate` does, and says at which field
// each problem is; Run queues it.
import { $, esc, post } from "./common.js";
import * as jobs from "./jobs.js";
import { targets } from "./draw.js";

let schema = null, examples = [], state = { version: 1 };

const branches = (section) => { const p = schema.properties[section]; return (p.oneOf || p.items.oneOf); };
const branch = (section, name) => branches(section).find((b) => b.title == name);

export async function init() {
  schema = await (await fetch("api/schema")).json();
  examples = (await (await fetch("api/examples")).json()).examples;
  $("example").innerHTML = `<option value="">(an empty form)</option>` +
    examples.map((e) => `<option value="${esc(e.name)}" title="${esc(e.title)}">${esc(e.name)}</option>`).join("");
  const first = examples.find((e) => e.name == "quickstart");
  if (first) { $("example").value = first.name; use(first.spec, first.name); } else use({ version: 1 }, "");
  $("example").addEventListener("change", () => {
    const e = examples.find((x) => x.name == $("example").value);
    use(e ? e.spec : { version: 1 }, e ? e.name.replace(/\//g, "-") : "");
  });
  $("paste-open").addEventListener("click", (ev) => { ev.preventDefault(); $("paste").hidden = !$("paste").hidden; });
  $("paste-load").addEventListener("click", async () => {
    const r = await post("api/parse", $("paste-text").value, "application/yaml");
    if (r.ok) { use(r.data.spec, $("name").value || "pasted"); $("paste").hidden = true; }
    else document.querySelector('.err[data-for="paste"]').textContent = r.data.error;
  });
  $("form").addEventListener("change", (ev) => {
    if (ev.target.classList.contains("plugin")) {
      state = collect();
      const use = get(state, ev.target.dataset.field.split(".").slice(0, -1));
      use.with = {};
      render();
    } else if (ev.target.id == "use-judge") {
      state = collect();
      if (ev.target.checked) state.judge ||= {}; else delete state.judge;
      render(ev.target.checked);
    }
  });
  $("form").addEventListener("click", (ev) => {
    if (ev.target.id == "add-constraint") { state = collect(); (state.constraints ||= []).push({ plugin: branches("constraints")[0].title }); render(); }
    if (ev.target.classList.contains("remove")) { state = collect(); state.constraints.splice(Number(ev.target.dataset.index), 1); render(); }
  });
  $("form").addEventListener("submit", (ev) => ev.preventDefault());
  $("check").addEventListener("click", check);
  $("download").addEventListener("click", download);
  $("run").addEventListener("click", run);
}

function use(spec, name) {
  state = structuredClone(spec);
  state.version ||= 1;
  $("name").value = name;
  render();
  showProblems([]);
  $("form-status").textContent = "";
}

function get(obj, keys) { return keys.reduce((o, k) => (o[k] ||= {}), obj); }

function set(obj, keys, value) {
  let o = obj;
  keys.slice(0, -1).forEach((k, i) => { o[k] ??= /^\d+$/.test(keys[i + 1]) ? [] : {}; o = o[k]; });
  o[keys.at(-1)] = value;
}

function range(s) {
  if (s.minimum === undefined && s.maximum === undefined) return "";
  return `range [${s.minimum ?? "-inf"}, ${s.maximum ?? "inf"}]`;
}

// One parameter: an input by its schema type, with its doc, default and range under it.
function field(path, key, s, value, required) {
  const help = [s.description, s.default !== undefined ? `default ${JSON.stringify(s.default)}` : "", range(s)].filter(Boolean).join("; ");
  const dflt = s.default !== undefined ? ` data-default="${esc(JSON.stringify(s.default))}"` : "";
  const shown = value ?? s.default;
  let input;
  if (s.enum) {
    const choices = (s.default !== undefined ? [] : [""]).concat(s.enum);
    input = `<select data-field="${path}" data-kind="string"${dflt}>${choices.map((v) => `<option${v === shown ? " selected" : ""}>${esc(v)}</option>`).join("")}</select>`;
  } else if (s.type == "boolean") {
    input = `<input type="checkbox" data-field="${path}" data-kind="boolean"${dflt}${shown ? " checked" : ""}>`;
  } else if (s.type == "array") {
    const text = Array.isArray(value) ? value.join(", ") : "";
    input = `<input data-field="${path}" data-kind="array" data-items="${esc(JSON.stringify(s.items.type))}"${dflt} value="${esc(text)}" placeholder="${esc(s.default && s.default.length ? s.default.join(", ") : "comma-separated")}">`;
  } else {
    input = `<input data-field="${path}" data-kind="${esc(s.type)}"${dflt} value="${esc(value ?? "")}" placeholder="${esc(s.default ?? "")}">`;
  }
  return `<div class="field"><label><span class="key">${esc(key)}${required ? " *" : ""}</span> ${input}</label>` +
         `<div class="help">${esc(help)}</div><div class="err" data-for="${path}"></div></div>`;
}

// A section's plugin and its parameters.
function pluginBlock(section, path, use, label) {
  const b = branch(section, use.plugin) || branches(section)[0];
  use.plugin = b.title;
  const w = b.properties.with, props = w.properties || {}, required = w.required || [];
  const options = branches(section).map((x) => `<option${x.title == b.title ? " selected" : ""}>${esc(x.title)}</option>`).join("");
  return `<div class="use"><div class="field"><label><span class="key">${esc(label)}</span> <select class="plugin" data-field="${path}.plugin">${options}</select></label>` +
         `<div class="help">${esc(b.description)}</div><div class="err" data-for="${path}"></div></div>` +
         Object.keys(props).map((k) => field(`${path}.with.${k}`, k, props[k], (use.with || {})[k], required.includes(k))).join("") + `</div>`;
}

// Settings declared like parameters (optimizer, judge); a nested object (optimizer.stop) indented.
function settings(path, s, values) {
  return Object.keys(s.properties).map((k) => {
    const p = s.properties[k];
    if (p.type == "object") return `<div class="sub"><div class="key">${esc(k)}</div><div class="help">${esc(p.description || "")}</div>${settings(path + "." + k, p, values[k] || {})}<div class="err" data-for="${path}.${k}"></div></div>`;
    return field(`${path}.${k}`, k, p, values[k], (s.required || []).includes(k));
  }).join("");
}

function render(judgeOn) {
  const s = state;
  for (const [section, title] of [["classifier", "Classifier"], ["seed", "Seed source"], ["task", "Task"]]) {
    s[section] ||= {};
    $("sec-" + section).innerHTML = `<legend>${title}</legend>` + pluginBlock(section, section, s[section], "plugin");
  }
  const cs = s.constraints || [];
  $("sec-constraints").innerHTML = `<legend>Constraints</legend><div class="err" data-for="constraints"></div>` +
    cs.map((c, i) => pluginBlock("constraints", `constraints.${i}`, c, `#${i + 1}`) +
      `<button type="button" class="remove" data-index="${i}">Remove #${i + 1}</button>`).join("") +
    ` <button type="button" id="add-constraint">Add a constraint</button>`;
  $("sec-optimizer").innerHTML = `<legend>Optimiser</legend><div class="err" data-for="optimizer"></div>` +
    settings("optimizer", schema.properties.optimizer, s.optimizer || {});
  const on = judgeOn ?? !!s.judge;
  $("sec-judge").innerHTML = `<legend><label><input type="checkbox" id="use-judge"${on ? " checked" : ""}> Judge the results</label></legend>` +
    `<div class="help">${esc(schema.properties.judge.description)}</div><div class="err" data-for="judge"></div>` +
    (on ? settings("judge", schema.properties.judge, s.judge || {}) : "");
  targets();
}

function value(el) {
  const kind = el.dataset.kind, text = el.value.trim();
  if (kind == "boolean") return el.checked;
  if (text === "") return undefined;
  if (kind == "integer" || kind == "number") { const n = Number(text); return Number.isFinite(n) ? n : text; }
  if (kind == "array") {
    const items = JSON.parse(el.dataset.items);
    const numeric = items == "number" || items == "integer" || (Array.isArray(items) && items.includes("number"));
    return text.split(",").map((x) => x.trim()).filter((x) => x).map((x) => (numeric && Number.isFinite(Number(x)) ? Number(x) : x));
  }
  return text;
}

// The spec the form shows now; a value equal to its default is left out.
export function collect() {
  const spec = { version: 1 };
  for (const el of $("form").querySelectorAll("[data-field]")) {
    const path = el.dataset.field;
    if (path == "name") continue;
    const v = el.classList.contains("plugin") ? el.value : value(el);
    if (v === undefined || (el.dataset.default !== undefined && JSON.stringify(v) === el.dataset.default)) continue;
    set(spec, path.split("."), v);
  }
  for (const section of ["classifier", "seed", "task"]) spec[section] ||= {};
  if ($("use-judge") && $("use-judge").checked) spec.judge ||= {};
  return spec;
}

// Each problem at its field (or the nearest enclosing one), and all of them in a list.
function showProblems(problems) {
  for (const e of $("new").querySelectorAll(".err")) e.textContent = "";
  $("problems").innerHTML = "";
  for (const p of problems) {
    let path = p.field || "", el = null;
    while (path && !(el = $("new").querySelector(`.err[data-for="${CSS.escape(path)}"]`))) path = path.split(".").slice(0, -1).join(".");
    if (el) el.textContent += (el.textContent ? "\n" : "") + p.message;
    $("problems").insertAdjacentHTML("beforeend", `<li>${esc(p.text || p.message)}</li>`);
  }
}

async function check() {
  const r = await post("api/validate", { name: $("name").value, spec: collect() });
  if (!r.ok) { showProblems([{ message: r.data.error }]); return null; }
  $("yaml").textContent = r.data.yaml;
  showProblems(r.data.problems || []);
  $("form-status").textContent = r.data.ok ? "The spec is valid." : "";
  return r.data;
}

async function download() {
  const d = await check();
  if (!d) return;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([d.yaml], { type: "application/yaml" }));
  a.download = ($("name").value || "spec") + ".yaml";
  a.click();
}

async function run() {
  const r = await post("api/jobs", { name: $("name").value, spec: collect() });
  if (r.ok) {
    showProblems([]);
    $("form-status").textContent = `Queued as ${r.data.name}.`;
    jobs.refresh();
  } else {
    if (r.data.yaml) $("yaml").textContent = r.data.yaml;
    showProblems(r.data.problems || [{ field: r.status == 400 ? "name" : "", message: r.data.error }]);
    $("form-status").textContent = r.data.error;
  }
}
"""#
}
