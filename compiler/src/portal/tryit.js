// acepack portal "try it": loads the filter's decision engine (WebAssembly, built with
// wasm-bindgen) and the compiled bundle, both embedded as base64 by engine-wasm.js and bundle.js
// (classic scripts, so the page also works from file://), and decides the form's request.
(function () {
  "use strict";
  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  var form = document.getElementById("tryit");
  if (!form) return;
  var state = document.getElementById("tryit-state");
  var explainer = null;
  var ready = (async function () {
    await wasm_bindgen({ module_or_path: bytes(window.ACEPACK_ENGINE_WASM) });
    explainer = new wasm_bindgen.Explainer(bytes(window.ACEPACK_BUNDLE));
  })();
  ready.then(function () {
    state.textContent = "engine ready";
    form.dataset.state = "ready";
  }, function (e) {
    state.textContent = "the engine could not start: " + e;
    form.dataset.state = "failed";
  });
  // Also callable from a console or a test: acepackDecide("GET", "http://host/path", "apikey: k").
  window.acepackDecide = async function (method, url, headers) {
    await ready;
    return JSON.parse(explainer.explain(method, url, headers, Date.now()));
  };
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var result = document.getElementById("tryit-result");
    var summary = document.getElementById("tryit-summary");
    try {
      var d = await window.acepackDecide(
        document.getElementById("tryit-method").value,
        document.getElementById("tryit-url").value,
        document.getElementById("tryit-headers").value);
      var line = d.decision === "deny" ? d.status + " " + d.reason
        : d.decision === "allow" ? "allowed: forwarded to the upstream" : "passed through untouched";
      if (d.operation) line += " — " + d.operation;
      if (d.package) line += " — package " + d.package;
      if (d.limits && d.limits.length) line += " — limit " + d.limits.map(function (l) { return l.limit; }).join(", ");
      summary.textContent = line;
      summary.className = d.decision;
      result.dataset.decision = d.decision;
      result.dataset.status = d.status == null ? "" : String(d.status);
      document.getElementById("tryit-text").textContent = d.text;
    } catch (e) {
      summary.textContent = String(e && e.message ? e.message : e);
      summary.className = "deny";
      result.dataset.decision = "error";
      document.getElementById("tryit-text").textContent = "";
    }
    result.hidden = false;
  });
})();
