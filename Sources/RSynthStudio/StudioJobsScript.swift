extension StudioScripts {
    /// The queue: progress, samples as they come, Cancel.
    static let jobs = #"""
// The queue: every run the studio started, newest first, with its progress (steps, loss, ETA),
// its samples as they are written, and Cancel; polled while anything is queued or running.
import { $, esc, file, post } from "./common.js";

let timer = null, lastEnded = 0;
const cancelErrors = {};   // job id -> why its Cancel failed, shown in its row until it ends

export async function refresh() {
  clearTimeout(timer);
  let list;
  try {
    const r = await fetch("api/jobs");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    list = (await r.json()).jobs;
  } catch (e) {
    // The server stopped or restarted: say so where the queue was, and keep asking.
    $("jobs").innerHTML = `<p class="err">Cannot reach the studio (${esc(e.message)}); trying again in 3 s.</p>`;
    timer = setTimeout(refresh, 3000);
    return;
  }
  // A refused Cancel is shown until its job ends; then its reason is dropped.
  for (const j of list) if (j.state != "queued" && j.state != "running") delete cancelErrors[j.id];
  $("jobs").innerHTML = list.length ? list.map(row).join("") : `<p class="empty">Nothing run from here yet.</p>`;
  const active = list.filter((j) => j.state == "queued" || j.state == "running").length;
  // A run that has just ended changes the gallery: say so (main reloads it).
  const ended = list.filter((j) => j.state != "queued" && j.state != "running").length;
  if (ended != lastEnded) { lastEnded = ended; window.dispatchEvent(new Event("rsynth:runs-changed")); }
  $("queue-count").textContent = active ? `${active} in the queue` : "";
  timer = setTimeout(refresh, active ? 700 : 3000);
}

function row(j) {
  const p = j.progress;
  const fraction = j.state == "done" ? 1 : p ? (p.planned ? p.step / p.planned : p.done / Math.max(p.total, 1)) : 0;
  const numbers = p ? `${p.done}/${p.total} samples${p.planned ? `, step ${p.step}/${p.planned}` : ""}` +
    `${p.loss != null ? `, loss ${p.loss.toFixed(4)}` : ""}${j.state == "running" ? `, ETA ${esc(p.eta)}` : ""}` : "";
  const live = j.state == "queued" || j.state == "running";
  return `<div class="job ${j.state}" data-job="${j.id}" data-name="${esc(j.name)}" data-state="${j.state}">` +
    `<div><strong>${esc(j.name)}</strong> <span class="state">${j.state}</span> <span class="numbers">${numbers}</span> ` +
    (live ? `<button type="button" class="cancel" data-job="${j.id}">Cancel</button>` : `<a href="#run=${encodeURIComponent(j.name)}">open the run</a>`) +
    (live && cancelErrors[j.id] ? ` <span class="err">cannot cancel: ${esc(cancelErrors[j.id])}</span>` : "") +
    `</div><progress max="1" value="${fraction}"></progress>` +
    // the newest 40 as thumbnails (a long run writes thousands); the run's page has them all
    `<div class="samples">${j.samples.length > 40 ? `<span class="more">${j.samples.length - 40} earlier not shown</span> ` : ""}` +
    `${j.samples.slice(-40).map((s) => `<img src="${esc(file(j.name, s))}" alt="${esc(s)}" title="${esc(s)}">`).join("")}</div>` +
    (j.message && j.state != "done" ? `<pre>${esc(j.message)}</pre>` : "") + `</div>`;
}

$("jobs").addEventListener("click", async (ev) => {
  if (!ev.target.classList.contains("cancel")) return;
  ev.target.disabled = true;
  let r;
  try { r = await post(`api/jobs/${ev.target.dataset.job}/cancel`, {}); }
  catch (e) { r = { ok: false, data: { error: e.message } }; }
  // Not cancelled (the run ended meanwhile, or the server is gone): say why beside the button;
  // a later Cancel that is accepted clears it.
  if (r.ok) delete cancelErrors[ev.target.dataset.job];
  else cancelErrors[ev.target.dataset.job] = r.data.error || "no answer";
  refresh();
});
"""#
}
