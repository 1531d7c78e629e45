import RobustSynthHost

/// The studio's single page: plain HTML and CSS here, ES modules in StudioScripts (served from
/// app/), no build step. Views are in the URL's hash, so they can be bookmarked: the gallery
/// (``), a run (`#run=PATH`), two side by side (`#compare=PATH|PATH`), the new-run form (`#new`).
enum StudioPage {
    /// The page for a server over `runs` (its real path): the empty gallery's hint names it.
    /// A raw string, so the script's `${...}` and backslashes stay as written; `\#(...)` is the
    /// one Swift interpolation in it.
    static func html(runs: String, token: String) -> String {
        #"""
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>rsynth studio</title>
    <meta name="rsynth-token" content="\#(token)">
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
    .compose { display: grid; grid-template-columns: minmax(420px, 3fr) minmax(320px, 2fr); gap: 20px; align-items: start; }
    fieldset { border: 1px solid #ccd; margin: 0 0 10px; padding: 6px 10px; } legend { font-weight: 600; }
    .field { margin: 4px 0 6px; } .field label { display: flex; gap: 8px; align-items: center; }
    .key { min-width: 110px; font-family: ui-monospace, monospace; } .field input:not([type=checkbox]) { flex: 1; }
    .help, .doc, .note { color: #666; font-size: 12px; } .help { margin-left: 118px; }
    .err { color: #b00020; white-space: pre-wrap; font-size: 13px; } .err:empty { display: none; }
    .use { border-top: 1px dashed #dde; padding-top: 4px; } .sub { margin-left: 12px; }
    .actions { display: flex; gap: 8px; align-items: center; margin: 8px 0; } button.primary { font-weight: 600; }
    #problems { color: #b00020; } pre { background: #f6f6f6; padding: 6px; overflow: auto; max-height: 320px; }
    .job { border: 1px solid #ccd; padding: 6px; margin-bottom: 8px; } .job progress { width: 100%; }
    .job .samples img { height: 40px; image-rendering: pixelated; margin: 1px; } .state { font-weight: 600; }
    .job.failed .state { color: #b00020; } .job.done .state { color: #1b7f3b; }
    canvas#canvas { border: 1px solid #999; touch-action: none; width: 256px; height: 256px; image-rendering: pixelated; cursor: crosshair; }
    .tools { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 4px 0; }
    </style></head><body>
    <header><strong>rsynth studio</strong><a href="#" id="home">Runs</a><a href="#new" id="new-link">New run</a><span id="queue-count"></span><span id="status"></span></header>
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
    <section id="new" hidden><div class="compose">
      <form id="form" autocomplete="off">
        <div class="field"><label><span class="key">start from</span> <select id="example"></select></label>
          <div class="help">An example spec shipped with rsynth, or <a href="#new" id="paste-open">paste a spec</a>. Every field below comes from the plugins' own parameters.</div></div>
        <div id="paste" hidden><textarea id="paste-text" rows="10" cols="60" placeholder="version: 1&#10;classifier: ..."></textarea>
          <div><button type="button" id="paste-load">Use this spec</button></div><div class="err" data-for="paste"></div></div>
        <div class="field"><label><span class="key">run name *</span> <input id="name" data-field="name"></label>
          <div class="help">The run's folder under the runs folder; the same name and spec again resumes it.</div><div class="err" data-for="name"></div></div>
        <fieldset id="sec-classifier"></fieldset><fieldset id="sec-seed"></fieldset><fieldset id="sec-task"></fieldset>
        <fieldset id="sec-constraints"></fieldset><fieldset id="sec-optimizer"></fieldset><fieldset id="sec-judge"></fieldset>
        <div class="actions"><button type="button" id="check">Check</button><button type="button" id="download">Download YAML</button>
          <button type="button" id="run" class="primary">Run</button><span id="form-status"></span></div>
        <ul id="problems"></ul>
        <details id="yaml-box"><summary>The spec as YAML</summary><pre id="yaml"></pre></details>
      </form>
      <aside>
        <h3>Queue</h3><div id="jobs"></div>
        <h3>Images</h3>
        <div class="note">Upload photos (for dataset-image: one folder per class), or draw a sketch, or paint a mask on an image; they are stored as PNG in the runs folder's data/ and their path goes into a field.</div>
        <div class="tools"><label>folder <input id="up-folder" value="uploads" size="14"></label>
          <label>photos <input type="file" id="up-files" accept="image/png,image/jpeg" multiple></label></div>
        <div class="tools"><label>draw <select id="draw-mode"><option value="sketch">a sketch (black on white)</option><option value="mask">a mask (white: to fill)</option></select></label>
          <label>brush <input type="range" id="brush" min="1" max="40" value="8"></label>
          <label>on <input type="file" id="draw-image" accept="image/png,image/jpeg"></label><button type="button" id="draw-clear">Clear</button></div>
        <canvas id="canvas" width="256" height="256"></canvas>
        <div class="tools"><label>name <input id="draw-name" value="drawing-1" size="12"></label><button type="button" id="draw-save">Store the drawing</button></div>
        <div class="tools"><label>into <select id="up-target"></select></label></div>
        <ul id="uploads"></ul>
      </aside>
    </div></section>
    </main>
    <script type="module" src="app/main.js"></script></body></html>
    """#
    }
}
