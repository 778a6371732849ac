// ledgerflow dashboard: what every page needs. The CSRF token goes with every htmx request;
// times are shown in the viewer's local time (UTC stays in the title); tabs; copy buttons.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = at.toLocaleString();
    });
  }
  window.ledgerflowLocalTimes = localTimes;

  function selectTab(tab) {
    var list = tab.closest('[role="tablist"]');
    list.querySelectorAll('[role="tab"]').forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
    });
    history.replaceState(null, "", "#" + tab.id.replace(/^tab-/, ""));
  }

  function setUpTabs() {
    var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { selectTab(tab); });
      tab.addEventListener("keydown", function (ev) {  // arrow keys move between tabs
        var step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        var next = tabs[(i + step + tabs.length) % tabs.length];
        next.click();  // as a click: a tab that reads its content on opening does
        next.focus();
      });
    });
    var wanted = location.hash && document.getElementById("tab-" + location.hash.slice(1));
    if (wanted) setTimeout(function () { wanted.click(); }, 0);  // after htmx is set up
  }

  // copy buttons, wherever they are (rows swapped in live too): one listener for all
  function setUpCopy() {
    document.addEventListener("click", function (ev) {
      var button = ev.target.closest && ev.target.closest("[data-copy]");
      if (!button) return;
      var done = function () {
        var was = button.dataset.label || button.textContent;
        button.dataset.label = was;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = was; }, 1500);
      };
      if (navigator.clipboard) navigator.clipboard.writeText(button.dataset.copy).then(done);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    setUpTabs();
    setUpCopy();
    if (window.htmx) {
      // refusals (403, 409, 412...) come with a banner to show, as answers do
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "401", swap: false },
        { code: "[45]..", swap: true, error: false },
      ];
    }
  });

  // a page being left ignores the answers still coming to it: a live read that finds the
  // session ended must not send the browser elsewhere than where the person is going
  // (a 401's HX-Redirect racing the navigation would win, and lose the reason said there)
  var leaving = false;
  window.addEventListener("beforeunload", function () {
    leaving = true;  // a navigation that did not happen (a download) stops it soon
    setTimeout(function () { leaving = false; }, 3000);
  });
  window.addEventListener("pageshow", function () { leaving = false; });
  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    if (leaving) ev.preventDefault();
  });

  document.addEventListener("htmx:configRequest", function (ev) {
    ev.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:afterSwap", function (ev) { localTimes(ev.detail.target); });

  // a verification that found a bad entry marks its row in the ledger (in words too)
  document.addEventListener("htmx:afterSwap", function (ev) {
    var result = ev.detail.target.querySelector && ev.detail.target.querySelector("#verify-result");
    if (!result) return;
    document.querySelectorAll("#ledger-rows tr.bad").forEach(function (tr) {
      tr.classList.remove("bad");
      tr.removeAttribute("title");
    });
    var seq = result.dataset.badSeq;
    var row = seq && document.querySelector('#ledger-rows tr[data-seq="' + seq + '"]');
    if (row) {
      row.classList.add("bad");
      row.title = "Verify found this entry changed";
      row.scrollIntoView({ block: "center" });
    }
  });
})();
