// cassette control: live Backup Activity and the cron preview. The pages
// work without this script (forms post and redirect; the activity page
// reloads itself); it only spares the reloads.
(function () {
  "use strict";

  // Backup Activity: fetch the inside of #activity every interval and swap
  // it in when it changed. The markup is the server's own template, so the
  // page looks the same with and without the script.
  function liveActivity() {
    var box = document.getElementById("activity");
    if (!box || !box.dataset.live) return;
    var state = document.getElementById("activity-state");
    var every = parseInt(box.dataset.interval, 10) || 1000;
    var last = null, busy = false;
    function tick() {
      if (busy || document.hidden) return;
      // Keep keyboard focus where it is: do not replace what holds it.
      if (box.contains(document.activeElement) && document.activeElement !== box) return;
      busy = true;
      fetch(box.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          if (html !== last) {
            last = html;
            box.innerHTML = html;
          }
          if (state) state.textContent = "Updated " + new Date().toLocaleTimeString();
        })
        .catch(function (e) {
          if (state) state.textContent = "Cannot reach the console (" + e.message + "); retrying.";
        })
        .finally(function () { busy = false; });
    }
    setInterval(tick, every);
  }

  // Cron preview: ask /api/cron as the expression is typed and list the
  // next runs, or the one-line error.
  function cronPreview() {
    var input = document.getElementById("cron");
    var out = document.getElementById("cron-preview");
    if (!input || !out) return;
    var timer = null, seq = 0;
    function render(data) {
      out.textContent = "";
      if (!data.valid) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = data.error;
        out.appendChild(p);
        return;
      }
      var hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Next runs (UTC):";
      var ol = document.createElement("ol");
      data.next.forEach(function (iso) {
        var li = document.createElement("li");
        var t = document.createElement("time");
        t.dateTime = iso;
        t.textContent = iso.replace("T", " ").replace("Z", " UTC");
        li.appendChild(t);
        ol.appendChild(li);
      });
      out.appendChild(hint);
      out.appendChild(ol);
    }
    function check() {
      var expr = input.value.trim();
      var mine = ++seq;
      if (expr === "") {
        out.textContent = "";
        var p = document.createElement("p");
        p.className = "hint";
        p.textContent = "Type a cron expression (minute hour day-of-month month day-of-week) to see its next five runs.";
        out.appendChild(p);
        return;
      }
      fetch(out.dataset.api + "?expr=" + encodeURIComponent(expr), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === seq) render(data); })
        .catch(function () { /* keep the last preview; the server checks on submit */ });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveActivity();
    cronPreview();
  });
})();
