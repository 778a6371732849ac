// The executions list, live: one EventSource on the tenant's stream. A row on the page is
// read again (status badge, progress, duration) when its execution changes; an execution
// not on the page that matches the filters is counted in a "N new — show" link instead of
// shifting the rows. After three failures in a row the stream is given up and the list is
// read again every 10 s (the page says so, and each reload tries the stream once more). The
// stream is closed while the tab is hidden.
(function () {
  "use strict";
  var root = document.getElementById("executions");
  if (!root) return;
  var statuses = root.dataset.status ? root.dataset.status.split(",") : [];
  var workflow = root.dataset.workflow;
  var fresh = {};  // ids of new executions, counted once
  var source = null;
  var failures = 0;
  var polling = null;
  var pending = {};  // rows being read again

  function state(text, stream) {
    document.getElementById("live-state").textContent = text;
    if (stream) root.dataset.stream = stream;
  }

  function matches(ev) {
    return (!statuses.length || statuses.indexOf(ev.status) >= 0) &&
      (!workflow || ev.workflow === workflow);
  }

  function showNew() {
    var count = Object.keys(fresh).length;
    var link = document.getElementById("new-runs");
    link.hidden = count === 0;
    link.textContent = count + " new — show";
    link.setAttribute("aria-label", count + " new execution" + (count === 1 ? "" : "s") +
                      ": show them");
  }

  // a row is read once at a time; a change seen meanwhile reads it once more after
  function refreshRow(id) {
    var row = document.getElementById("row-" + id);
    if (!row || !window.htmx) return;
    if (pending[id]) { pending[id] = "again"; return; }
    pending[id] = true;
    var checked = row.querySelector('input[type="checkbox"]');
    var was = checked && checked.checked;
    htmx.ajax("GET", "/ui/executions/" + encodeURIComponent(id) + "/row",
              { target: row, swap: "outerHTML" }).then(function () {
      var again = pending[id] === "again";
      delete pending[id];
      var now = document.getElementById("row-" + id);
      var box = now && now.querySelector('input[type="checkbox"]');
      if (box) box.checked = was;
      if (again) refreshRow(id);
    });
  }

  // a row swapped in shows its times in the viewer's local time, as the page does
  document.addEventListener("htmx:afterSettle", function () {
    var body = document.getElementById("execution-rows");
    if (body) window.ledgerflowLocalTimes(body);
  });

  function changed(ev) {
    var row = document.getElementById("row-" + ev.id);
    if (row) {
      if (Number(row.dataset.version) >= ev.version) return;
      var badge = row.querySelector(".badge");
      if (badge) { badge.className = "badge s-" + ev.status; badge.textContent = ev.status; }
      row.dataset.version = ev.version;
      refreshRow(ev.id);
    } else if (root.dataset.first === "true" && matches(ev) && !fresh[ev.id]) {
      fresh[ev.id] = true;
      showNew();
    }
  }

  // polling is remembered across the reloads it makes; each reload still tries the stream
  // once, and a stream that opens again ends the polling
  var POLLING = "ledgerflow-list-polling";

  function poll() {
    try { sessionStorage.setItem(POLLING, "1"); } catch (e) { /* storage off: poll anyway */ }
    state("Live updates are unavailable: the list is read again every 10 s.", "polling");
    if (polling) return;
    polling = setInterval(function () {
      if (document.querySelector('#execution-rows input[type="checkbox"]:checked')) return;
      location.reload();
    }, 10000);
  }

  function live() {
    failures = 0;
    if (polling) { clearInterval(polling); polling = null; }
    try { sessionStorage.removeItem(POLLING); } catch (e) { /* nothing to forget */ }
    state("● live", "open");
  }

  function open() {
    if (source || document.hidden) return;
    source = new EventSource(root.dataset.events);
    source.addEventListener("open", live);
    source.addEventListener("execution", function (ev) { changed(JSON.parse(ev.data)); });
    source.addEventListener("resync", function () {
      document.querySelectorAll("#execution-rows tr[data-id]").forEach(function (row) {
        refreshRow(row.dataset.id);
      });
    });
    source.addEventListener("error", function () {
      failures += 1;
      if (polling || failures >= 3) { close(); poll(); return; }
      if (source && source.readyState === EventSource.CLOSED) { close(); setTimeout(open, 3000); }
      state("reconnecting…", "reconnecting");
    });
  }

  function close() {
    if (source) source.close();
    source = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { close(); if (!polling) state("paused while hidden", "closed"); }
    else if (!polling) open();
  });
  var wasPolling = false;
  try { wasPolling = sessionStorage.getItem(POLLING) === "1"; } catch (e) { /* none */ }
  if (wasPolling) poll();
  open();
})();
