// Progressive enhancement of the citizen's pages. Every flow works without this file; with it,
// uploads show their progress and section forms save as the citizen goes. No inline script: the
// Content-Security-Policy allows scripts from the portal itself only.
"use strict";

(function () {
  var SAVE_DELAY_MS = 600;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The form carries its texts (data-text-*) in the page's language; {count} and {name} are filled in.
  function text(form, key, values) {
    var template = form.getAttribute("data-text-" + key) || "";
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? values[name] : whole;
    });
  }

  // -- forms save as you go -------------------------------------------------------------------

  // A German or plain decimal ("1.710,55", "1710.55", "1.710") as a number, read as pages.typed reads
  // it; text that is no number stays text, so the server names the field and says what is wrong.
  function number(raw, integer) {
    var thousands = /^\d{1,3}(\.\d{3})+$/.test(raw);
    var text = raw.indexOf(",") >= 0 || thousands ? raw.replace(/\./g, "").replace(",", ".") : raw;
    var value = Number(text);
    if (text === "" || isNaN(value)) { return raw; }
    return integer && Math.floor(value) === value ? Math.floor(value) : value;
  }

  function typed(element) {
    var raw = element.value.trim();
    var kind = element.getAttribute("data-type");
    if (kind === "number") { return number(raw, false); }
    if (kind === "integer") { return number(raw, true); }
    if (kind === "date") {
      var german = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(raw);
      return german ? german[3] + "-" + ("0" + german[2]).slice(-2) + "-" + ("0" + german[1]).slice(-2) : raw;
    }
    return raw;
  }

  // The section's answers as the JSON API takes them: the same typing the server does for the plain form.
  function sectionAnswers(form) {
    var answers = {};
    var rows = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      var kind = element.getAttribute("data-type");
      if (!kind || !element.name) { return; }
      var row = element.closest("[data-list]");
      if (row) {
        var list = row.getAttribute("data-list");
        var parts = element.name.slice(list.length + 1).split("-");
        var index = parts.shift();
        var key = parts.join("-");
        rows[list] = rows[list] || {};
        rows[list][index] = rows[list][index] || {};
        if (element.value.trim() !== "") { rows[list][index][key] = typed(element); }
        return;
      }
      if (kind === "array") {
        answers[element.name] = answers[element.name] || [];
        if (element.checked) { answers[element.name].push(element.value); }
      } else if (element.type === "radio") {
        if (element.checked) { answers[element.name] = element.value === "ja"; }
      } else if (element.type === "checkbox") {
        if (element.checked) { answers[element.name] = true; }
      } else if (element.value.trim() !== "") {
        answers[element.name] = typed(element);
      }
    });
    Object.keys(rows).forEach(function (list) {
      answers[list] = Object.keys(rows[list]).sort(function (a, b) { return a - b; })
        .map(function (index) { return rows[list][index]; })
        .filter(function (row) { return Object.keys(row).length > 0; });
    });
    return answers;
  }

  function enableSaving(form) {
    var status = form.querySelector("#speicherstand");
    var timer = null;
    var lastSent = null;

    function save() {
      var body = JSON.stringify(sectionAnswers(form));
      if (body === lastSent) { return; }
      var request = new XMLHttpRequest();
      request.open("PUT", form.getAttribute("data-autosave"));
      request.setRequestHeader("Content-Type", "application/json");
      request.setRequestHeader("X-CSRF-Token", csrfToken());
      request.onload = function () {
        if (request.status === 200) {
          lastSent = body;
          status.textContent = text(form, "saved");
        } else if (request.status === 400) {
          // Incomplete or wrong: the server says what on "Speichern und weiter"; nothing is lost meanwhile.
          status.textContent = text(form, "incomplete");
        } else {
          status.textContent = text(form, "failed");
        }
      };
      request.onerror = function () {
        status.textContent = text(form, "failed");
      };
      request.send(body);
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, SAVE_DELAY_MS);
    }

    form.addEventListener("change", later);
    form.addEventListener("focusout", later);
    form.addEventListener("submit", function () { window.clearTimeout(timer); });
  }

  // -- uploads with a progress bar ------------------------------------------------------------

  function progressBar(form, value) {
    var status = form.querySelector("#hochladen-stand");
    var bar = document.createElement("progress");
    bar.id = "hochladen-fortschritt";
    bar.max = 100;
    bar.value = value;
    bar.setAttribute("aria-label", text(form, "progress"));
    var percent = document.createElement("span");
    percent.className = "percent";
    percent.setAttribute("aria-hidden", "true");
    percent.textContent = value + " %";
    form.insertBefore(bar, status);
    form.insertBefore(percent, status);
    return function show(next) {
      bar.value = next;
      percent.textContent = next + " %";
    };
  }

  // One request for all chosen files (several photos of one Nachweis become one PDF on the server);
  // the bar shows the bytes of all of them together.
  function enableProgress(form) {
    form.addEventListener("submit", function (submitted) {
      var input = form.querySelector('input[type="file"]');
      if (!input || !input.files || input.files.length === 0 || !window.FormData) { return; }
      submitted.preventDefault();
      var status = form.querySelector("#hochladen-stand");
      var button = form.querySelector('button[type="submit"]');
      var count = input.files.length;
      var chosen = { count: count, name: input.files[0].name };
      var show = progressBar(form, 0);
      button.disabled = true;
      status.textContent = count > 1 ? text(form, "several", chosen) : text(form, "one", chosen);

      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action"));
      request.upload.onprogress = function (progress) {
        if (progress.lengthComputable) { show(Math.floor((progress.loaded / progress.total) * 100)); }
      };
      request.onload = function () { follow(request, chosen); };
      request.onerror = function () {
        button.disabled = false;
        status.textContent = text(form, "failed");
      };
      request.send(new FormData(form));
    });
  }

  // The server answered with the Nachweise page (after its redirect) or with the page and its error:
  // show that page's content, and keep the finished progress bar above it.
  function follow(request, chosen) {
    var answer = new DOMParser().parseFromString(request.responseText, "text/html");
    var fresh = answer.querySelector("main");
    var main = document.querySelector("main");
    if (!fresh || !main) { window.location.assign(request.responseURL || window.location.href); return; }
    main.innerHTML = fresh.innerHTML;
    var refused = main.querySelector(".error-summary");
    var newForm = main.querySelector("form[data-upload]");
    if (refused) {
      refused.focus();
    } else if (newForm) {
      progressBar(newForm, 100);
      newForm.querySelector("#hochladen-stand").textContent =
        chosen.count > 1 ? text(newForm, "done-several", chosen) : text(newForm, "done-one", chosen);
    }
    if (newForm) { enableProgress(newForm); }
  }

  document.querySelectorAll("form[data-autosave]").forEach(enableSaving);
  document.querySelectorAll("form[data-upload]").forEach(enableProgress);
})();
