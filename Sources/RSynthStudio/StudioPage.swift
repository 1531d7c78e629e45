import RobustSynthHost

/// The studio's single page: plain HTML, CSS and an ES module, no build step. It lists the runs
/// from /api/runs (filters by task, classifier and class), opens a run's own index.html, and
/// puts two runs side by side (the robust and the standard model on the same seeds is the
/// paper's comparison). Views are in the URL's hash, so they can be bookmarked:
/// `#run=PATH`, `#compare=PATH|PATH`.
enum StudioPage {
    /// The page for a server over `runs` (its real path): the empty gallery's hint names it.
    /// A raw string, so the script's `${...}` and backslashes stay as written; `\#(...)` is the
    /// one Swift interpolation in it.
    static func html(runs: String) -> String {
        #"""
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>rsynth studio</title>
    <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
    header { background: #23395d; color: #fff; padding: 8px 16px; display: flex; gap: 16px; align-items: center; }
    header a { color: #fff; } main { padding: 12px 16px; }
    table { border-collapse: collapse; width: 100%; } td, th { padding: 3px 8px; text-align: left; vertical-align: middle; }
    tr:nth-child(even) { background: #f4f4f4; } th { border-bottom: 1px solid #999; } tbody tr:hover { background: #e6eefb; cursor: pointer; }
    img.thumb { image-rendering: pixelated; height: 48px; max-width: 200px; object-fit: contain; }
    .filters { display: flex; gap: 12px; margin-bottom: 8px; align-items: center; }
    .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
    iframe { width: 100%; height: 80vh; border: 1px solid #ccc; }
    .empty { color: #666; padding: 24px 0; }
    </style></head><body>
    <header><strong>rsynth studio</strong><a href="#" id="home">Runs</a><span id="status"></span></header>
    <main>
    <section id="gallery">
      <div class="filters">
        <label>task <select id="task"><option value="">any</option></select></label>
        <label>classifier <select id="classifier"><option value="">any</option></select></label>
        <label>class <select id="class"><option value="">any</option></select></label>
        <button id="compare" disabled>Compare the two ticked runs</button>
      </div>
      <table><thead><tr><th></th><th>results</th><th>run</th><th>task</th><th>classifier</th><th>seed</th>
        <th>constraints</th><th>samples</th><th>judge</th><th>time</th><th>finished</th></tr></thead>
        <tbody id="runs"></tbody></table>
      <p class="empty" id="none" hidden>No runs here yet: <code>rsynth run Examples/quickstart.yaml --out \#(RunReport.esc(runs))/quickstart</code>, then reload.</p>
    </section>
    <section id="view" hidden></section>
    </main>
    <script type="module">
    const $ = (id) => document.getElementById(id);
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
    const file = (run, name) => "files/" + run.split("/").map(encodeURIComponent).join("/") + "/" + name;
    let all = [];

    async function load() {
      const q = new URLSearchParams();
      for (const k of ["task", "classifier", "class"]) if ($(k).value) q.set(k, $(k).value);
      const r = await fetch("api/runs?" + q);
      const { runs } = await r.json();
      if (!q.toString()) { all = runs; fillFilters(); }
      $("runs").innerHTML = runs.map((e) => `<tr data-path="${esc(e.path)}">
        <td><input type="checkbox" class="pick" value="${esc(e.path)}"></td>
        <td>${e.grid ? `<img class="thumb" loading="lazy" src="${esc(file(e.path, e.grid))}" alt="">` : ""}</td>
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

    function show() {
      const h = new URLSearchParams(location.hash.slice(1));
      const run = h.get("run"), pair = h.get("compare");
      $("gallery").hidden = !!(run || pair);
      $("view").hidden = !(run || pair);
      if (run) $("view").innerHTML = `<iframe title="run" src="${esc(file(run, "index.html"))}"></iframe>`;
      else if (pair) {
        const [a, b] = pair.split("|");
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
    $("home").addEventListener("click", (ev) => { ev.preventDefault(); location.hash = ""; });
    window.addEventListener("hashchange", show);
    await load();
    show();
    </script></body></html>
    """#
    }
}
