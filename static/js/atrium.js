/* Atrium: small progressive enhancements. No dependencies; the site works without this file.
 * The CSP forbids inline scripts and hx-on attributes, so all behaviour lives here. */
(function () {
  "use strict";

  var MARKERS = /^(<{7}|={7}|>{7})( |$)/m;

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  /* --- keyboard shortcuts ------------------------------------------------------------------ */

  document.addEventListener("keydown", function (event) {
    var form;
    // Ctrl/Cmd+S in an editor saves the page.
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
      form = document.querySelector("form[data-editor]");
      if (form) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
      return;
    }
    // "e" on a page view opens the editor.
    if (event.key === "e" && !event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey
        && !event.defaultPrevented && !isTyping(event.target)) {
      var target = document.querySelector("[data-edit-url]");
      if (target) {
        event.preventDefault();
        window.location.assign(target.getAttribute("data-edit-url"));
      }
    }
  });

  /* --- editor: unsaved-changes guard, marker check ------------------------------------------- */

  var dirty = false;
  var submitting = false;

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("form[data-editor]")) dirty = true;
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-editor]")) return;
    if (form.hasAttribute("data-check-markers")) {
      var body = form.querySelector("textarea[name=body]");
      var error = document.getElementById("marker-error");
      if (body && MARKERS.test(body.value)) {
        event.preventDefault();
        if (error) error.hidden = false;
        body.focus();
        return;
      }
      if (error) error.hidden = true;
    }
    dirty = false;
    submitting = true;
  });

  // A page left by the form's own submit must not still fire a delayed autosave or preview.
  document.addEventListener("htmx:before:request", function (event) {
    if (submitting) event.preventDefault();
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Back/forward cache: a restored page is not mid-submit any more.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) submitting = false;
  });

  /* --- conflict screen: fill the editor with one side ---------------------------------------- */

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fill-editor]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-fill-editor"));
    var target = document.getElementById(button.getAttribute("data-fill-target") || "body");
    if (!source || !target) return;
    if (target.value !== source.value && target.dataset.touched === "true"
        && !window.confirm("Replace the text in the editor? Your changes to it will be lost.")) {
      return;
    }
    target.value = source.value;
    target.dispatchEvent(new Event("input", {bubbles: true}));
    target.dataset.touched = "false";
    target.focus();
    target.setSelectionRange(0, 0);
    target.scrollTop = 0;
  });

  document.addEventListener("input", function (event) {
    if (event.isTrusted && event.target.matches && event.target.matches("textarea[name=body]")) {
      event.target.dataset.touched = "true";
    }
  });

  /* --- dismissible alerts, errors htmx could not show ---------------------------------------- */

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-dismiss]");
    if (!close) return;
    var alert = close.closest(".alert, .notice");
    if (alert) alert.remove();
  });

  function flash(title, detail) {
    var region = document.getElementById("flash");
    if (!region) return;
    var box = document.createElement("div");
    box.className = "alert alert-danger";
    box.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "alert-body";
    var strong = document.createElement("strong");
    strong.className = "alert-title";
    strong.textContent = title;
    var text = document.createElement("p");
    text.textContent = detail;
    body.append(strong, text);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "alert-close";
    button.setAttribute("data-dismiss", "");
    button.setAttribute("aria-label", "Dismiss");
    button.textContent = "×";
    box.append(body, button);
    region.replaceChildren(box);
  }

  // Server errors arrive as HTML fragments (HX-Retarget #flash); this covers a lost connection.
  document.addEventListener("htmx:error", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.response) return;
    flash("Could not reach Atrium", "Check your connection and try again. Nothing was lost on this page.");
  });

  /* --- small niceties ------------------------------------------------------------------------ */

  // Close an open "Delete…" confirmation when clicking elsewhere or pressing Escape.
  function closeConfirms(except) {
    document.querySelectorAll("details.confirm[open]").forEach(function (d) {
      if (d !== except) d.open = false;
    });
  }
  document.addEventListener("click", function (event) {
    closeConfirms(event.target.closest && event.target.closest("details.confirm"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeConfirms(null);
  });
})();
