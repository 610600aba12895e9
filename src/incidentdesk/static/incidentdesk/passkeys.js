// Passkeys (WebAuthn): creating one from the account page, signing in with one from the
// sign-in page. The server sends the options as JSON (base64url for binary fields) and checks
// the answers; this file only converts between JSON and the browser's ArrayBuffers.
(function () {
  "use strict";

  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (!answer.ok) throw new Error(data.detail || "The passkey could not be used.");
        return data;
      });
    });
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) },
    };
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) out.response.userHandle = toText(r.userHandle);
    }
    return out;
  }

  function say(button, error) {
    var box = document.getElementById(button.dataset.status);
    var text = error && error.name === "NotAllowedError"
      ? "The passkey was not used (cancelled, or no passkey for this site on this device)."
      : (error && error.message) || String(error);
    if (box) {
      box.textContent = text;
      box.hidden = false;
    }
  }

  function unsupported() {
    return !window.PublicKeyCredential || !navigator.credentials;
  }

  document.querySelectorAll("[data-passkey-create]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (unsupported()) return say(button, new Error("This browser cannot use passkeys."));
      var name = document.getElementById(button.dataset.name);
      post(button.dataset.options, button.dataset.csrf).then(function (options) {
        options.challenge = toBuffer(options.challenge);
        options.user.id = toBuffer(options.user.id);
        (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
        return navigator.credentials.create({ publicKey: options });
      }).then(function (credential) {
        return post(button.dataset.save, button.dataset.csrf, {
          name: name ? name.value : "",
          credential: credentialJSON(credential),
        });
      }).then(function (done) {
        window.location.assign(done.next);
      }).catch(function (error) { say(button, error); });
    });
  });

  document.querySelectorAll("[data-passkey-sign-in]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (unsupported()) return say(button, new Error("This browser cannot use passkeys."));
      post(button.dataset.options, button.dataset.csrf).then(function (options) {
        options.challenge = toBuffer(options.challenge);
        (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        return post(button.dataset.check, button.dataset.csrf, {
          credential: credentialJSON(credential),
          next: button.dataset.next || "",
        });
      }).then(function (done) {
        window.location.assign(done.next);
      }).catch(function (error) { say(button, error); });
    });
  });
})();
