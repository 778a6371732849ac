// ledgerflow dashboard: live tables. A region marked data-refresh reads its fragment again
// with htmx ("every 2s, refresh", swapped in place). A read is skipped while the tab is
// hidden, while focus is inside the region (a reason being typed, a control reached by
// keyboard) or while one of its <details> is open; the tab shown again reads at once. The
// region's "updated" clock is shown in the viewer's local time.
(function () {
  "use strict";

  function busy(region) {
    if (document.hidden) return true;
    var focused = document.activeElement;
    if (focused && focused !== document.body && region.contains(focused)) return true;
    return region.querySelector("details[open]") !== null;
  }

  function clocks(root) {
    root.querySelectorAll(".clock[data-at]").forEach(function (el) {
      var at = new Date(el.getAttribute("data-at"));
      if (!isNaN(at)) el.textContent = at.toLocaleTimeString([], { hourCycle: "h23" });
    });
  }

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var region = ev.detail.elt;
    if (region && region.hasAttribute && region.hasAttribute("data-refresh") && busy(region)) {
      ev.preventDefault();
    }
  });

  // a read that failed keeps the table shown (the next one may work)
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var region = ev.detail.elt;
    if (region && region.hasAttribute && region.hasAttribute("data-refresh") &&
        ev.detail.xhr.status >= 400) {
      ev.detail.shouldSwap = false;
    }
  });

  // the region read again (swapped whole): its times in local time, as on the first load
  document.addEventListener("htmx:afterSettle", function (ev) {
    var old = ev.detail.elt;
    if (!old || !old.hasAttribute || !old.hasAttribute("data-refresh")) return;
    var region = old.isConnected ? old : document.getElementById(old.id);
    if (!region) return;
    clocks(region);
    if (window.ledgerflowLocalTimes) window.ledgerflowLocalTimes(region);
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-refresh]").forEach(function (region) {
      htmx.trigger(region, "refresh");
    });
  });

  document.addEventListener("DOMContentLoaded", function () { clocks(document); });
})();
