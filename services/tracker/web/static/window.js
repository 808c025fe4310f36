// The single window's one script: the corridor page's live parts, polled every few seconds
// from /window/live and swapped in place when they change (no reload). Without script the
// page still shows everything, as of when it was loaded.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root) { return; }
  var url = root.getAttribute("data-live-url");
  var seconds = Math.max(1, parseFloat(root.getAttribute("data-live-seconds")) || 3);
  var state = document.querySelector("[data-live-state]");
  var version = null;
  var failures = 0;

  function swap(parts) {
    Object.keys(parts).forEach(function (name) {
      var target = document.querySelector('[data-live="' + name + '"]');
      if (target && target.innerHTML !== parts[name]) {
        target.innerHTML = parts[name];
      }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        failures = 0;
        if (body.version !== version) {
          version = body.version;
          swap(body.parts);
        }
        root.setAttribute("data-as-of", body.as_of);
        var message = "Updates every " + seconds + " s.";
        if (state && state.textContent !== message) { state.textContent = message; }
      })
      .catch(function () {
        failures += 1;
        if (state && failures === 3) { state.textContent = "Live updates paused: the tracker does not answer; retrying."; }
      })
      .then(function () { window.setTimeout(poll, seconds * 1000 * Math.min(failures + 1, 5)); });
  }
  window.setTimeout(poll, seconds * 1000);
})();
