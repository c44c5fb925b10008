// Keyboard shortcuts of the caseworker pages (documented in the page footer; can be switched off).
// Links and fields carry data-shortcut / data-shortcut-focus; j and k move through the inbox rows.
(function () {
  "use strict";
  var OFF = "jc-staff-shortcuts-off";
  function switchedOff() {
    try { return window.localStorage.getItem(OFF) === "1"; } catch (e) { return false; }
  }
  function typing(target) {
    var name = target && target.tagName;
    return name === "INPUT" || name === "TEXTAREA" || name === "SELECT" || (target && target.isContentEditable);
  }
  function moveRow(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-row-link]"));
    if (!links.length) { return; }
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target) || switchedOff()) { return; }
    var key = event.key;
    if (key === "j" || key === "k") { event.preventDefault(); moveRow(key === "j" ? 1 : -1); return; }
    var field = document.querySelector('[data-shortcut-focus="' + key + '"]');
    if (field) { event.preventDefault(); field.focus(); return; }
    var link = document.querySelector('[data-shortcut="' + key + '"]');
    if (link) { event.preventDefault(); link.click(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-shortcuts-off]");
    if (!toggle) { return; }
    toggle.checked = switchedOff();
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(OFF, toggle.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    });
  });
}());
