extension StudioScripts {
    /// The gallery: runs newest first with filters; a run's page; two runs side by side.
    static let gallery = #"""
// The gallery of run folders (filters by task, classifier and class), a run's page, two side by side.
import { $, esc, file } from "./common.js";
let all = [];

export async function load() {
  const q = new URLSearchParams();
  for (const k of ["task", "classifier", "class"]) if ($(k).value) q.set(k, $(k).value);
  let runs;
  try {
    const r = await fetch("api/runs?" + q);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    runs = (await r.json()).runs;
  } catch (e) {
    // The server stopped, or answered with an error: say so; the page keeps what it showed.
    $("status").textContent = `cannot list the runs: ${e.message}`;
    return;
  }
  if (!q.toString()) { all = runs; fillFilters(); }
  $("runs").innerHTML = runs.map((e) => `<tr data-path="${esc(e.path)}">
    <td><input type="checkbox" class="pick" value="${esc(e.path)}"></td>
    <td>${e.grid ? `<img class="thumb" loading="lazy" src="${esc(file(e.path, e.grid))}" alt="grid of ${esc(e.path)}">` : ""}</td>
    <td>${esc(e.path)}</td><td>${esc(e.task)}</td><td>${esc(e.classifier)}</td><td>${esc(e.seed)}</td>
    <td>${esc(e.constraints.join("; "))}</td><td>${e.samples} of ${e.total}${e.complete ? "" : " (incomplete)"}</td>
    <td>${e.agreement == null ? "" : (100 * e.agreement).toFixed(1) + "%"}</td>
    <td>${e.seconds.toFixed(1)} s</td><td>${new Date(e.modified * 1000).toLocaleString()}</td></tr>`).join("");
  $("none").hidden = runs.length > 0;
  $("status").textContent = `${runs.length} run${runs.length == 1 ? "" : "s"}`;
}

function fillFilters() {
  const sets = { task: new Set(), classifier: new Set(), class: new Set() };
  for (const e of all) { sets.task.add(e.task); sets.classifier.add(e.classifier); e.classes.forEach((c) => sets.class.add(c)); }
  for (const k in sets) {
    const keep = $(k).value;
    $(k).innerHTML = `<option value="">any</option>` + [...sets[k]].sort().map((v) => `<option>${esc(v)}</option>`).join("");
    $(k).value = keep;
  }
}

// A run's own index.html, or two of them side by side.
export function view(run, pair) {
  if (run) $("view").innerHTML = `<iframe title="run" src="${esc(file(run, "index.html"))}"></iframe>`;
  else if (pair) {
    const parts = pair.split("|");
    if (parts.length != 2 || !parts[0] || !parts[1]) {
      // a hand-edited or truncated link: say what is wrong instead of two empty frames
      $("view").innerHTML = `<p class="err">compare needs two runs, "first|second"; got "${esc(pair)}".</p>`;
      return;
    }
    const [a, b] = parts;
    $("view").innerHTML = `<div class="pair">${[a, b].map((p) => `<div><h3>${esc(p)}</h3><iframe title="${esc(p)}" src="${esc(file(p, "index.html"))}"></iframe></div>`).join("")}</div>`;
  }
}

$("runs").addEventListener("click", (ev) => {
  if (ev.target.classList.contains("pick")) {
    const picked = [...document.querySelectorAll(".pick:checked")];
    $("compare").disabled = picked.length != 2;
    return;
  }
  const row = ev.target.closest("tr");
  if (row) location.hash = "run=" + encodeURIComponent(row.dataset.path);
});
$("compare").addEventListener("click", () => {
  const picked = [...document.querySelectorAll(".pick:checked")].map((c) => c.value);
  if (picked.length == 2) location.hash = "compare=" + encodeURIComponent(picked.join("|"));
});
for (const k of ["task", "classifier", "class"]) $(k).addEventListener("change", load);
"""#
}
