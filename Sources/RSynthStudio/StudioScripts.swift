import Foundation

/// The studio page's ES modules, served as app/NAME.js (no build step; each is plain JavaScript
/// in a Swift raw string, one concept per file): `main` picks the view from the URL's hash,
/// `common` holds the helpers and the token-carrying POST, the others are in their own files.
enum StudioScripts {
    static func named(_ name: String) -> String? {
        ["main.js": main, "common.js": common, "gallery.js": gallery, "form.js": form, "jobs.js": jobs, "draw.js": draw][name]
    }

    static let main = #"""
// The views, chosen by the URL's hash: gallery, #run=PATH, #compare=A|B, #new.
import { $ } from "./common.js";
import * as gallery from "./gallery.js";
import * as form from "./form.js";
import * as jobs from "./jobs.js";

function show() {
  const h = new URLSearchParams(location.hash.slice(1));
  const run = h.get("run"), pair = h.get("compare"), fresh = h.has("new");
  $("gallery").hidden = !!(run || pair || fresh);
  $("view").hidden = !(run || pair);
  $("new").hidden = !fresh;
  if (run || pair) gallery.view(run, pair);
  else if (!fresh) gallery.load();
}

$("home").addEventListener("click", (ev) => { ev.preventDefault(); location.hash = ""; });
window.addEventListener("hashchange", show);
window.addEventListener("rsynth:runs-changed", () => gallery.load());
await gallery.load();
await form.init();
jobs.refresh();
show();
"""#

    static let common = #"""
// Shared by the studio's modules: element lookup, HTML escaping, run-file URLs, token-carrying POSTs.
export const $ = (id) => document.getElementById(id);
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
export const file = (run, name) => "files/" + run.split("/").map(encodeURIComponent).join("/") + "/" + name;
const token = document.querySelector('meta[name="rsynth-token"]').content;

// POST with the page's session token; JSON in and out unless `type` says otherwise.
export async function post(path, body, type = "application/json") {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": type, "X-RSynth-Token": token },
                                body: type == "application/json" ? JSON.stringify(body) : body });
  let data = {};
  try { data = await r.json(); } catch (e) { data = { error: `HTTP ${r.status}` }; }
  return { status: r.status, ok: r.ok, data };
}
"""#
}
