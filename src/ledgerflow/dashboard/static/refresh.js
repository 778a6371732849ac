// ledgerflow dashboard: live tables. A region marked data-refresh follows its event stream
// (data-stream): each "html" event is the region as it is now, swapped in place; "same"
// says it was read again and nothing changed. The stream is closed while the tab is hidden
// and opened again when it is shown. A swap waits while focus is inside the region (a
// reason being typed, a control reached by keyboard) or one of its <details> is open. After
// three failed connections in a row the region reads its fragment with htmx every 10 s
// instead ("refresh", swapped in place). The "updated" clock is in the viewer's local time.
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

  // one stream per region (by id): its source, the newest html not yet shown, failures
  var streams = {};

  function show(id) {
    var s = streams[id];
    var region = document.getElementById(id);
    if (!s || s.pending === null || !region) return;
    if (busy(region)) return;  // shown once focus leaves (see focusout) or the next event
    var html = s.pending;
    s.pending = null;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild;
    if (!fresh || fresh.id !== id) return;
    region.replaceWith(fresh);
    if (window.htmx) htmx.process(fresh);
    clocks(fresh);
    if (window.ledgerflowLocalTimes) window.ledgerflowLocalTimes(fresh);
  }

  function fallBack(id) {
    var s = streams[id];
    if (s.polling) return;
    s.polling = setInterval(function () {
      var region = document.getElementById(id);
      if (region && window.htmx) htmx.trigger(region, "refresh");
    }, 10000);
    document.documentElement.dataset.liveTables = "polling";
    var note = document.getElementById("live-tables-state");
    if (note) note.textContent = "Live updates are unavailable: this table is read again every 10 s.";
  }

  function open(region) {
    var id = region.id;
    var s = streams[id] || (streams[id] = { source: null, pending: null, failures: 0,
                                             polling: null, url: region.dataset.stream });
    if (s.source || s.polling || document.hidden) return;
    var source = new EventSource(s.url);
    s.source = source;
    source.addEventListener("open", function () {
      s.failures = 0;
      document.documentElement.dataset.liveTables = "open";
    });
    source.addEventListener("html", function (ev) {
      s.pending = JSON.parse(ev.data);
      show(id);
    });
    source.addEventListener("same", function (ev) {
      var at = JSON.parse(ev.data).at;
      var region = document.getElementById(id);
      var clock = region && region.querySelector(".clock[data-at]");
      if (clock) { clock.setAttribute("data-at", at); clocks(region); }
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.OPEN) return;
      s.failures += 1;
      if (s.failures >= 3 || source.readyState === EventSource.CLOSED) {
        source.close();
        s.source = null;
        if (s.failures >= 3) fallBack(id);
        else setTimeout(function () { open(document.getElementById(id) || region); }, 3000);
      }
    });
  }

  function close(id) {
    var s = streams[id];
    if (s && s.source) { s.source.close(); s.source = null; }
  }

  function openAll() {
    document.querySelectorAll("[data-refresh][data-stream]").forEach(open);
  }

  document.addEventListener("focusout", function () {
    setTimeout(function () { Object.keys(streams).forEach(show); }, 0);
  });
  document.addEventListener("toggle", function () {
    Object.keys(streams).forEach(show);
  }, true);

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { Object.keys(streams).forEach(close); return; }
    openAll();
  });

  document.addEventListener("DOMContentLoaded", function () {
    clocks(document);
    openAll();
  });
})();
