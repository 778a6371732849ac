// ledgerflow dashboard: the overview follows the tenant's event stream. Each `execution`
// (or `resync`) event asks for the counts again, at most once a second; workers and
// breakers, which send no event, are read every few seconds (refresh.js skips reads while
// the tab is hidden). The stream is closed while the tab is hidden and opened again when
// it is shown.
(function () {
  "use strict";
  var source = null;
  var last = 0;
  var timer = null;

  function region() { return document.getElementById("overview-live"); }

  function refresh() {
    if (timer !== null) return;
    timer = setTimeout(function () {
      timer = null;
      last = Date.now();
      var r = region();
      if (r && window.htmx) window.htmx.trigger(r, "refresh");
    }, Math.max(0, 1000 - (Date.now() - last)));
  }

  function open() {
    var r = region();
    if (!r || source !== null || document.hidden || !window.EventSource) return;
    source = new EventSource(r.getAttribute("data-events"));
    source.addEventListener("execution", refresh);
    source.addEventListener("resync", refresh);
  }

  function close() {
    if (source !== null) { source.close(); source = null; }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) close(); else open();
  });
  document.addEventListener("DOMContentLoaded", open);
})();
