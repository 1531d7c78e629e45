extension StudioScripts {
    /// Uploads and drawing: photos, a sketch, a mask painted on an image.
    static let draw = #"""
// Images for runs: photos uploaded into RUNS/data/FOLDER, and drawings made here, a sketch
// (black on white) or a mask painted over an image (stored white where to fill, black
// elsewhere). Each stored path can go straight into a field of the form.
import { $, esc, post } from "./common.js";

const canvas = $("canvas"), g = canvas.getContext("2d");
let strokes = [], current = null, background = null;

function redraw(forExport) {
  const mask = $("draw-mode").value == "mask";
  g.globalAlpha = 1;
  g.fillStyle = forExport && mask ? "#000" : "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  if (background && !forExport) g.drawImage(background, 0, 0, canvas.width, canvas.height);
  g.strokeStyle = forExport ? (mask ? "#fff" : "#000") : (mask ? "rgba(220,0,0,0.6)" : "#000");
  g.lineCap = g.lineJoin = "round";
  for (const s of strokes) {
    g.lineWidth = s.width;
    g.beginPath();
    s.points.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    if (s.points.length == 1) g.lineTo(s.points[0][0] + 0.01, s.points[0][1]);
    g.stroke();
  }
}

function at(ev) {
  const r = canvas.getBoundingClientRect();
  return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
}

canvas.addEventListener("pointerdown", (ev) => {
  canvas.setPointerCapture(ev.pointerId);
  current = { width: Number($("brush").value) * canvas.width / 256, points: [at(ev)] };
  strokes.push(current);
  redraw(false);
});
// Moves may be coalesced (one event per frame): take every position they carry, and the
// release's own, so a fast stroke is drawn whole.
canvas.addEventListener("pointermove", (ev) => {
  if (!current) return;
  for (const e of (ev.getCoalescedEvents ? ev.getCoalescedEvents() : []).concat([ev])) current.points.push(at(e));
  redraw(false);
});
canvas.addEventListener("pointerup", (ev) => { if (current) { current.points.push(at(ev)); redraw(false); } current = null; });
$("draw-clear").addEventListener("click", () => { strokes = []; redraw(false); });
$("draw-mode").addEventListener("change", () => redraw(false));
$("draw-image").addEventListener("change", () => {
  const f = $("draw-image").files[0];
  if (!f) return;
  const img = new Image();
  img.onload = () => { background = img; canvas.width = img.naturalWidth; canvas.height = img.naturalHeight; strokes = []; redraw(false); };
  img.src = URL.createObjectURL(f);
});

// The form's text fields a stored path can go into ("into"); called whenever the form is rebuilt.
export function targets() {
  const fields = [...$("form").querySelectorAll('input[data-kind="string"], input[data-kind="array"]')].map((e) => e.dataset.field);
  const keep = $("up-target").value;
  $("up-target").innerHTML = `<option value="">(none: just store)</option>` + fields.map((f) => `<option>${esc(f)}</option>`).join("");
  if (fields.includes(keep)) $("up-target").value = keep;
}

const plain = (s) => s.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._]+/, "") || "image";

// Stores one image; its path goes into the chosen field (added to a list field).
async function store(blob, name) {
  const folder = $("up-folder").value.trim() || "uploads";
  const r = await post(`api/uploads?folder=${encodeURIComponent(folder)}&name=${encodeURIComponent(plain(name))}`, blob, blob.type || "application/octet-stream");
  const item = r.ok ? `stored <code>${esc(r.data.path)}</code>` : `<span class="err">${esc(name)}: ${esc(r.data.error)}</span>`;
  $("uploads").insertAdjacentHTML("afterbegin", `<li>${item}</li>`);
  const target = $("up-target").value && document.querySelector(`[data-field="${CSS.escape($("up-target").value)}"]`);
  if (r.ok && target) {
    // An image-folder parameter (dataset-image's dataset) takes the folder, others the file.
    const path = /(^|\.)dataset$/.test(target.dataset.field) ? r.data.folder : r.data.path;
    target.value = target.dataset.kind == "array" && target.value.trim() ? target.value + ", " + path : path;
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }
  return r;
}

$("up-files").addEventListener("change", async () => {
  for (const f of $("up-files").files) await store(f, f.name);
  $("up-files").value = "";
});
$("draw-save").addEventListener("click", async () => {
  redraw(true);
  const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
  redraw(false);
  await store(blob, $("draw-name").value + ".png");
});
redraw(false);
"""#
}
