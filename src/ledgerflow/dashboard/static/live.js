// One execution, live: one EventSource on the dashboard's events route (the API's stream,
// authenticated by the session cookie). Each "entry" moves its step's box in the graph and
// its row in the steps table, and appends a ledger row; each "progress" updates the badge,
// the bar, the ETA (which counts down in between), the version the actions send, which
// actions are shown and whether the state may be edited; each "step" has the timeline and
// the waits drawn again (at most once a second), and the graph when it is the collapsed
// view; each "log" appends a row to the Logs tab. The stream is closed while the tab is
// hidden and opened again after the last seq and the last log seen.
(function () {
  "use strict";
  var root = document.getElementById("execution");
  if (!root) return;
  var last = Number(root.dataset.seq);
  var logsAfter = Number(root.dataset.logsAfter || 0);
  var allowed = JSON.parse(root.dataset.allowed);
  var source = null;
  var ended = false;

  function badge(el, status) {
    el.className = "badge s-" + status;
    el.textContent = status;
  }

  function moveStep(id, status) {
    var box = document.getElementById("step-" + id);
    if (box) {
      box.setAttribute("class", "step " + status);
      box.setAttribute("data-status", status);
      var line = box.querySelector("text.status");
      if (line) line.textContent = status + line.textContent.replace(/^[^·]*/, " ").replace(/^ +$/, "");
    }
    var row = document.getElementById("steprow-" + id);
    if (row) badge(row.querySelector(".badge"), status);
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function forkCell(seq) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "small fork";
    button.textContent = "Fork here";
    button.setAttribute("aria-label", "Fork a new execution at entry " + seq);
    button.setAttribute("hx-post", root.dataset.fork);
    button.setAttribute("hx-vals", JSON.stringify({ at_seq: String(seq) }));
    button.setAttribute("hx-target", "#flash");
    var td = document.createElement("td");
    td.appendChild(button);
    if (window.htmx) htmx.process(td);
    return td;
  }

  // a cell with a <time> shown in local time (ledgerflowLocalTimes), UTC on hover
  function timeCell(iso) {
    var at = document.createElement("time");
    at.setAttribute("datetime", iso);
    at.title = iso;
    var td = cell("");
    td.appendChild(at);
    return td;
  }

  function addLog(log) {
    var body = document.getElementById("log-rows");
    if (!body || body.querySelector('tr[data-log="' + log.id + '"]')) return;
    var tr = document.createElement("tr");
    tr.dataset.log = log.id;
    var when = timeCell(log.at);
    var message = cell(log.message, "log-message");
    if (log.fields && Object.keys(log.fields).length) {
      var code = document.createElement("code");
      code.className = "mono muted";
      code.textContent = JSON.stringify(log.fields);
      message.appendChild(document.createTextNode(" "));
      message.appendChild(code);
    }
    [when, cell(log.kind), cell(log.step_id || "", "mono"), message]
      .forEach(function (td) { tr.appendChild(td); });
    body.appendChild(tr);
    window.ledgerflowLocalTimes(tr);
    var none = document.getElementById("logs-none");
    if (none) none.hidden = true;
  }

  // the timeline and the waits are drawn on the server: read again when a step moves, at
  // most once a second (and the state, when its tab is open)
  var redrawAt = 0, redrawTimer = null;
  function redraw() {
    if (redrawTimer) return;
    var wait = Math.max(0, redrawAt + 1000 - Date.now());
    redrawTimer = setTimeout(function () {
      redrawTimer = null;
      redrawAt = Date.now();
      if (!window.htmx) return;
      // the collapsed graph's boxes count their steps by status: drawn again too
      var graph = document.getElementById("graph");
      if (graph && graph.querySelector(".collapsed-note")) htmx.trigger(graph, "refresh");
      ["timeline", "waits"].forEach(function (id) {  // when shown (opening one reads it)
        var box = document.getElementById(id);
        var panel = document.getElementById("panel-" + id);
        if (box && panel && !panel.hidden) htmx.trigger(box, "refresh");
      });
    }, wait);
  }

  function addEntry(entry) {
    var body = document.getElementById("ledger-rows");
    if (!body || body.querySelector('tr[data-seq="' + entry.seq + '"]')) return;
    var tr = document.createElement("tr");
    tr.dataset.seq = entry.seq;
    var when = timeCell(entry.occurred_at);
    var hash = cell(entry.entry_hash.slice(0, 12), "mono");
    hash.title = entry.entry_hash;
    [cell(entry.seq), cell(entry.event_type), cell(entry.step_id || ""),
     cell((entry.actor && (entry.actor.id || entry.actor.kind)) || ""), when, hash]
      .forEach(function (td) { tr.appendChild(td); });
    if (root.dataset.fork) tr.appendChild(forkCell(entry.seq));
    body.appendChild(tr);
    window.ledgerflowLocalTimes(tr);
    if (entry.step_id && entry.to_state) moveStep(entry.step_id, entry.to_state);
    if (entry.event_type === "execution.started") setTime("started", entry.occurred_at);
    if (entry.state_version) stateMoved();
    if (OPERATOR.indexOf(entry.event_type) >= 0) lastControl(entry);
    if (!entry.step_id && FINAL.indexOf(entry.to_state) >= 0) {
      setTime("finished", entry.occurred_at);
      var began = document.querySelector("#started time");
      if (began) duration(new Date(entry.occurred_at) - new Date(began.getAttribute("datetime")));
    }
  }

  // an entry made a state version (an output, an edit): the State tab, when it shows the
  // current version, reads it again
  function stateMoved() {
    var box = document.getElementById("state-box");
    if (box && window.htmx && document.querySelector("#state-pick[data-current]"))
      htmx.trigger(box, "refresh");
  }

  var FINAL = ["completed", "failed", "cancelled", "expired"];
  var OPERATOR = ["execution.paused", "execution.resumed", "execution.cancelled",
                  "execution.retried", "execution.rerun", "state.edited"];

  function lastControl(entry) {
    var reason = entry.payload && entry.payload.reason;
    var who = (entry.actor && (entry.actor.id || entry.actor.kind)) || "";
    var box = document.getElementById("last-control");
    box.textContent = entry.event_type + " by " + who + (reason ? " — “" + reason + "” " : " ");
    var at = document.createElement("time");
    at.setAttribute("datetime", entry.occurred_at);
    at.title = entry.occurred_at;
    box.appendChild(at);
    window.ledgerflowLocalTimes(box);
  }

  function setTime(id, stamp) {
    var at = document.createElement("time");
    at.setAttribute("datetime", stamp);
    at.title = stamp;
    var box = document.getElementById(id);
    box.replaceChildren(at);
    window.ledgerflowLocalTimes(box);
  }

  // a duration in words, as the server writes it (render._duration)
  function words(ms) {
    var s = ms / 1000;
    if (s < 1) return Math.round(ms) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    var m = Math.floor(Math.round(s) / 60);
    if (m < 120) return m + " min " + Math.round(s) % 60 + " s";
    return Math.floor(m / 60) + " h " + m % 60 + " min";
  }

  function duration(ms) {
    document.getElementById("duration").textContent = words(ms);
  }

  // the ETA: each progress event says how long is left (by the median of this workflow's
  // past runs); between events it counts down each second
  var etaUntil = null;
  function setEta(ms) {
    etaUntil = ms === null || ms === undefined ? null : Date.now() + ms;
    showEta();
  }
  function showEta() {
    var box = document.getElementById("eta");
    if (!box) return;
    box.hidden = etaUntil === null;
    if (etaUntil === null) { box.textContent = ""; delete box.dataset.etaMs; return; }
    var left = etaUntil - Date.now();
    box.dataset.etaMs = Math.max(0, Math.round(left));
    box.textContent = left > 0 ? "ETA about " + words(Math.max(left, 1000))
      : "ETA: any moment (taking longer than usual)";
  }

  function progress(p) {
    badge(document.getElementById("status"), p.status);
    var bar = document.getElementById("progress");
    bar.value = p.percentage;
    bar.textContent = Math.round(p.percentage) + "%";
    document.getElementById("progress-text").textContent =
      (p.completed + p.skipped) + "/" + p.total;
    var detail = [p.completed + " completed"];
    if (p.running) detail.push(p.running + " running");
    if (p.failed) detail.push(p.failed + " failed");
    if (p.skipped) detail.push(p.skipped + " skipped");
    document.getElementById("progress-detail").textContent = detail.join(" · ");
    setEta(p.eta_ms);
    document.getElementById("version").textContent = p.version;
    root.dataset.version = p.version;
    var field = document.getElementById("version-field");
    if (field) field.value = p.version;  // the actions act on what the page shows now
    var can = allowed[p.status] || [];
    document.querySelectorAll("#actions [data-action]").forEach(function (button) {
      button.hidden = can.indexOf(button.dataset.action) < 0;
    });
    var actions = document.getElementById("actions");
    if (actions) actions.hidden = can.length === 0;
    var fromStep = can.indexOf("resume") >= 0 || can.indexOf("rerun") >= 0;
    document.querySelectorAll(".from-step").forEach(function (el) { el.hidden = !fromStep; });
    var editing = document.getElementById("state-fields");
    if (editing) {
      var paused = p.status === "paused";
      if (editing.disabled === paused) {  // the state changes only while paused: read it again
        var box = document.getElementById("state-box");
        if (box && window.htmx) htmx.trigger(box, "refresh");
      }
      editing.disabled = !paused;
      document.getElementById("state-edit-note").textContent = paused
        ? "(a JSON merge patch: the keys to change, null removes one)"
        : "(pause the execution first)";
    }
  }

  // what the stream does, shown to people and kept in data-stream (open, ended, closed)
  function state(text, stream) {
    document.getElementById("live-state").textContent = text;
    if (stream) root.dataset.stream = stream;
  }

  function open() {
    if (source || ended || document.hidden) return;
    source = new EventSource(root.dataset.events + "?after_seq=" + last + "&logs_after=" + logsAfter);
    source.addEventListener("open", function () { state("● live", "open"); });
    source.addEventListener("entry", function (ev) {
      var entry = JSON.parse(ev.data);
      if (entry.seq <= last) return;
      last = entry.seq;
      addEntry(entry);
    });
    source.addEventListener("progress", function (ev) { progress(JSON.parse(ev.data)); });
    source.addEventListener("step", function () { redraw(); });
    source.addEventListener("log", function (ev) {
      var log = JSON.parse(ev.data);
      if (log.id <= logsAfter) return;
      logsAfter = log.id;
      addLog(log);
    });
    source.addEventListener("end", function () {
      ended = true;
      close();
      state("", "ended");
    });
    source.addEventListener("error", function () {
      if (source && source.readyState === EventSource.CLOSED) { source = null; state("offline: reload to see changes", "closed"); }
      else state("reconnecting…");
    });
  }

  function close() {
    if (source) source.close();
    source = null;
  }

  // an action answered with a new version: the execution may run again (a retry after it
  // ended), so follow it again
  document.addEventListener("htmx:afterSwap", function (ev) {
    var id = ev.detail.target.id;
    if (id === "log-rows") {  // the tab read again: the stream goes on after its newest
      var none = document.getElementById("logs-none");
      if (none) none.hidden = !!ev.detail.target.querySelector("tr");
      ev.detail.target.querySelectorAll("tr[data-log]").forEach(function (tr) {
        logsAfter = Math.max(logsAfter, Number(tr.dataset.log));
      });
    }
    if ((id === "flash" || id === "state-result" || id === "signal-result") &&
        ev.detail.target.querySelector("[data-version]")) {
      ended = false;
      open();
    }
  });

  // countdowns to a wait's timer and to the execution's expiry, in words
  function countdowns() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Math.round((new Date(el.dataset.until) - Date.now()) / 1000);
      if (isNaN(left)) return;
      if (left <= 0) { el.textContent = "(time is up)"; return; }
      var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
      el.textContent = "(in " + (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s)";
    });
  }
  countdowns();
  setInterval(countdowns, 1000);
  var eta = document.getElementById("eta");
  if (eta && eta.dataset.etaMs) setEta(Number(eta.dataset.etaMs));
  setInterval(function () { if (etaUntil !== null) showEta(); }, 1000);
  document.addEventListener("htmx:afterSettle", countdowns);  // a tab read again

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { close(); state("paused while hidden", "closed"); } else open();
  });
  open();
})();
