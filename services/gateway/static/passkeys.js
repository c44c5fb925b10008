// Passkeys (WebAuthn): log in on the login page, add one in the security settings.
// Everything else in the portal works without JavaScript; passkeys cannot.
(function () {
  "use strict";

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: fromBase64url(item.id) });
    });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      user: Object.assign({}, options.user, { id: fromBase64url(options.user.id) }),
      excludeCredentials: withIds(options.excludeCredentials)
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      allowCredentials: withIds(options.allowCredentials)
    });
  }

  function credentialJson(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) { json.response.userHandle = toBase64url(response.userHandle); }
    }
    return json;
  }

  function post(path, body, csrf) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrf) { headers["X-CSRF-Token"] = csrf; }
    return fetch(path, {
      method: "POST", headers: headers, credentials: "same-origin", body: JSON.stringify(body || {})
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (payload) {
        if (!answer.ok) { throw new Error((payload.error && payload.error.message) || answer.statusText); }
        return payload;
      });
    });
  }

  function say(element, text) { if (element) { element.textContent = text; } }

  function failed(status, error) {
    // The browser's own words when the person cancelled; the portal's message otherwise.
    var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
    say(status, cancelled ? status.dataset.cancelled : (error && error.message) || status.dataset.failed);
  }

  function setUpLogin(box) {
    var button = document.getElementById("passkey-anmelden-knopf");
    var status = document.getElementById("passkey-meldung");
    box.hidden = false;
    button.addEventListener("click", function () {
      say(status, "");
      post("/api/v1/session/passkey/options").then(function (started) {
        return navigator.credentials.get({ publicKey: requestOptions(started.options) }).then(function (credential) {
          return post("/api/v1/session/passkey", { ticket: started.ticket, credential: credentialJson(credential) });
        });
      }).then(function () {
        window.location.assign("/uebersicht");
      }).catch(function (error) { failed(status, error); });
    });
  }

  function setUpRegistration(box) {
    var button = document.getElementById("passkey-anlegen-knopf");
    var status = document.getElementById("passkey-meldung");
    var csrf = box.dataset.csrf;
    box.hidden = false;
    button.addEventListener("click", function () {
      say(status, "");
      post("/api/v1/account/passkeys/options", {}, csrf).then(function (started) {
        return navigator.credentials.create({ publicKey: creationOptions(started.options) }).then(function (made) {
          return post("/api/v1/account/passkeys", { ticket: started.ticket, credential: credentialJson(made) }, csrf);
        });
      }).then(function () {
        window.location.assign("/einstellungen/sicherheit?erledigt=passkey");
      }).catch(function (error) { failed(status, error); });
    });
  }

  function start() {
    if (!window.PublicKeyCredential || !navigator.credentials) { return; }
    var login = document.getElementById("passkey-anmeldung");
    var registration = document.getElementById("passkey-anlegen");
    if (login) { setUpLogin(login); }
    if (registration) { setUpRegistration(registration); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
