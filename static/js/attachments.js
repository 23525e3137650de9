/* Atrium attachments: paste or drop files into the page editor (a markdown reference is
 * inserted at the cursor), drop files on a page's attachments panel, upload without a reload.
 * Without this file the plain upload form still works. The CSP forbids inline scripts. */
(function () {
  "use strict";

  if (window.atriumAttachments) return; // included by more than one partial
  window.atriumAttachments = true;

  var counter = 0;

  function csrfToken() {
    var raw = document.body.getAttribute("hx-headers:inherited");
    if (raw) {
      try { return JSON.parse(raw)["X-CSRF-Token"] || ""; } catch (e) { /* fall through */ }
    }
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function setStatus(scope, text, isError) {
    var el = scope && scope.querySelector("[data-attachments-status]");
    if (!el) return;
    el.textContent = text;
    el.title = text;
    el.classList.toggle("is-error", !!isError);
  }

  function problemText(response, fallback) {
    return response.json().then(function (body) {
      return body.detail || body.title || fallback;
    }, function () { return fallback; });
  }

  /* --- the page editor: paste, drop, "Attach a file…" ----------------------------------------- */

  function editorParts() {
    var bar = document.querySelector("[data-attachments-api]");
    var textarea = document.querySelector("form[data-editor] textarea[name=body]");
    return bar && textarea ? {bar: bar, textarea: textarea} : null;
  }

  function changed(textarea) {
    textarea.dispatchEvent(new Event("input", {bubbles: true}));
  }

  function uploadIntoEditor(parts, file) {
    var ta = parts.textarea;
    counter += 1;
    var placeholder = "![Uploading " + (file.name || "file") + " \u2026 #" + counter + "]()";
    ta.focus();
    ta.setRangeText(placeholder, ta.selectionStart, ta.selectionEnd, "end");
    setStatus(parts.bar, "Uploading " + (file.name || "file") + "\u2026");
    var data = new FormData();
    data.append("file", file, file.name || "pasted");
    data.append("replace", "false"); // a pasted "image.png" must not replace an earlier one
    return fetch(parts.bar.getAttribute("data-attachments-api"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "Accept": "application/json"}
    }).then(function (response) {
      if (!response.ok) {
        return problemText(response, "Upload failed (" + response.status + ").").then(function (msg) {
          throw new Error(msg);
        });
      }
      return response.json();
    }).then(function (result) {
      replacePlaceholder(ta, placeholder, result.markdown);
      setStatus(parts.bar, "Attached " + result.name + ".");
    }, function (error) {
      replacePlaceholder(ta, placeholder, "");
      setStatus(parts.bar, error.message || "Upload failed.", true);
    });
  }

  function replacePlaceholder(ta, placeholder, text) {
    var at = ta.value.indexOf(placeholder);
    if (at === -1) return; // the writer removed it meanwhile
    var start = ta.selectionStart, end = ta.selectionEnd;
    ta.setRangeText(text, at, at + placeholder.length, "preserve");
    if (start >= at + placeholder.length) {
      // keep the caret right after the inserted reference when it was there
      var delta = text.length - placeholder.length;
      ta.setSelectionRange(start + delta, end + delta);
    }
    changed(ta);
  }

  function uploadAll(parts, files) {
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () { return uploadIntoEditor(parts, file); });
    });
    return chain;
  }

  document.addEventListener("paste", function (event) {
    var parts = editorParts();
    if (!parts || event.target !== parts.textarea) return;
    var files = event.clipboardData && event.clipboardData.files;
    if (!files || !files.length) return; // plain text: the browser pastes it
    event.preventDefault();
    uploadAll(parts, files);
  });

  document.addEventListener("dragover", function (event) {
    var parts = editorParts();
    var types = event.dataTransfer && event.dataTransfer.types;
    var hasFiles = types && Array.prototype.indexOf.call(types, "Files") !== -1;
    if (!hasFiles) return;
    if (parts && event.target === parts.textarea) {
      event.preventDefault();
      parts.textarea.classList.add("is-dropping");
      return;
    }
    var panel = event.target.closest && event.target.closest("[data-drop-upload]");
    if (panel) {
      event.preventDefault();
      panel.classList.add("is-dropping");
    }
  });

  document.addEventListener("dragleave", function (event) {
    if (event.target.classList) event.target.classList.remove("is-dropping");
    var panel = event.target.closest && event.target.closest("[data-drop-upload]");
    if (panel && !panel.contains(event.relatedTarget)) panel.classList.remove("is-dropping");
  });

  document.addEventListener("drop", function (event) {
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    var parts = editorParts();
    if (parts && event.target === parts.textarea) {
      event.preventDefault();
      parts.textarea.classList.remove("is-dropping");
      uploadAll(parts, files);
      return;
    }
    var panel = event.target.closest && event.target.closest("[data-drop-upload]");
    if (panel) {
      event.preventDefault();
      panel.classList.remove("is-dropping");
      var data = new FormData();
      Array.prototype.forEach.call(files, function (file) { data.append("file", file, file.name); });
      sendToPanel(panel, data);
    }
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-attachments-pick]")) return;
    var parts = editorParts();
    if (!parts || !event.target.files.length) return;
    uploadAll(parts, event.target.files).then(function () { event.target.value = ""; });
  });

  /* --- the attachments panel: upload without a reload ----------------------------------------- */

  function sendToPanel(panel, data) {
    setStatus(panel, "Uploading\u2026");
    return fetch(panel.getAttribute("data-attachments-panel"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "HX-Request": "true"}
    }).then(function (response) {
      return response.text().then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#attachments");
        if (!fresh) {
          var message = holder.textContent.replace(/\s+/g, " ").trim();
          setStatus(panel, message || "Upload failed (" + response.status + ").", true);
          return;
        }
        panel.replaceWith(fresh);
        if (window.htmx && window.htmx.process) window.htmx.process(fresh);
      });
    }, function () {
      setStatus(panel, "Upload failed: the server could not be reached.", true);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-attachments-upload]")) return;
    var panel = form.closest("[data-attachments-panel]");
    if (!panel || !window.fetch || !window.FormData) return; // the plain form post works too
    event.preventDefault();
    sendToPanel(panel, new FormData(form));
  });
})();
