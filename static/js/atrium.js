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

  /* --- search: Ctrl+K and / focus the header box; the dropdown follows the keyboard ---------- */

  function searchBox() { return document.getElementById("search-q"); }
  function dropdown() { return document.getElementById("search-dropdown"); }
  function closeDropdown() { var d = dropdown(); if (d) d.replaceChildren(); }

  document.addEventListener("keydown", function (event) {
    var box = searchBox();
    if (!box) return;
    var ctrlK = (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k";
    var slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey
      && !isTyping(event.target);
    if (ctrlK || slash) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var options = dropdown() ? Array.prototype.slice.call(dropdown().querySelectorAll(".search-option")) : [];
    var inside = event.target === box || options.indexOf(event.target) !== -1;
    if (!inside) return;
    if (event.key === "Escape") {
      closeDropdown();
      box.focus();
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
      event.preventDefault();
      var at = options.indexOf(event.target);
      var next = event.key === "ArrowDown" ? at + 1 : at - 1;
      if (next < 0) box.focus();
      else options[Math.min(next, options.length - 1)].focus();
    }
  });

  document.addEventListener("click", function (event) {
    var form = event.target.closest && event.target.closest("form.search");
    if (!form) closeDropdown();
  });

  // An emptied box closes the dropdown rather than asking the server about nothing.
  document.addEventListener("input", function (event) {
    if (event.target === searchBox() && !event.target.value.trim()) closeDropdown();
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

/* --- discussions: comment on a selected passage, quote-reply, @mentions, live refresh ---------- */
(function () {
  "use strict";

  function norm(text) { return text.replace(/\s+/g, " ").trim(); }

  // Live refresh: skip a poll while someone is typing in the region it would replace.
  document.addEventListener("htmx:before:request", function (event) {
    var el = event.target;
    if (!el.classList || !el.classList.contains("live-probe")) return;
    var region = el.closest("[data-live-region]");
    if (!region) return;
    if (threadsBusy(region)) event.preventDefault();
  });
  document.addEventListener("htmx:before:swap", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var el = (ctx && ctx.sourceElement) || event.target;
    if (!el.classList || !el.classList.contains("live-probe")) return;
    var region = el.closest("[data-live-region]");
    if (region && threadsBusy(region)) event.preventDefault();
  });

  function threadsBusy(region) {
    var busy = Array.prototype.some.call(region.querySelectorAll("textarea, input[name=reason]"),
      function (field) { return field.value.trim() !== "" || field === document.activeElement; });
    return busy || !!region.querySelector("details.confirm[open]");
  }

  // A new-thread form is cleared once the server accepted it.
  document.addEventListener("htmx:after:request", function (event) {
    var form = event.target;
    var ctx = event.detail && event.detail.ctx;
    if (!form.matches || !form.matches("form[data-reset-on-success]")) return;
    if (!ctx || !ctx.response || ctx.response.status >= 300) return;
    form.reset();
    clearAnchor(form);
  });

  /* selecting text in the page offers "Comment on this passage" */
  var button = null;
  var pending = null;

  function hideButton() { if (button) button.hidden = true; pending = null; }

  function clearAnchor(form) {
    form.querySelectorAll("[data-anchor=quote], [data-anchor=prefix], [data-anchor=suffix]")
      .forEach(function (input) { input.value = ""; });
    var preview = form.querySelector("[data-anchor-preview]");
    if (preview) preview.hidden = true;
  }

  function selectionIn(prose) {
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed || sel.rangeCount === 0) return null;
    var range = sel.getRangeAt(0);
    if (!prose.contains(range.commonAncestorContainer)) return null;
    var quote = norm(sel.toString());
    if (quote.length < 2 || quote.length > 2000) return null;
    var before = document.createRange();
    before.setStart(prose, 0);
    before.setEnd(range.startContainer, range.startOffset);
    var after = document.createRange();
    after.setStart(range.endContainer, range.endOffset);
    after.setEnd(prose, prose.childNodes.length);
    return {
      quote: quote,
      prefix: norm(before.toString()).slice(-80),
      suffix: norm(after.toString()).slice(0, 80),
      rect: range.getBoundingClientRect()
    };
  }

  function offerComment(prose) {
    var found = selectionIn(prose);
    if (!found) { hideButton(); return; }
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-primary btn-sm selection-comment";
      button.textContent = "Comment on this passage";
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });
      button.addEventListener("click", function () {
        var form = document.querySelector(button.getAttribute("data-form"));
        if (!form || !pending) return;
        form.querySelector("[data-anchor=quote]").value = pending.quote;
        form.querySelector("[data-anchor=prefix]").value = pending.prefix;
        form.querySelector("[data-anchor=suffix]").value = pending.suffix;
        var heading = form.querySelector("select[data-anchor=heading]");
        if (heading) heading.value = "";
        var preview = form.querySelector("[data-anchor-preview]");
        preview.querySelector("[data-anchor-text]").textContent = pending.quote;
        preview.hidden = false;
        hideButton();
        form.scrollIntoView({ block: "center" });
        form.querySelector("textarea").focus();
      });
      document.body.appendChild(button);
    }
    pending = found;
    button.setAttribute("data-form", prose.getAttribute("data-comment-target"));
    button.style.top = (window.scrollY + found.rect.bottom + 8) + "px";
    button.style.left = (window.scrollX + Math.max(8, found.rect.left)) + "px";
    button.hidden = false;
  }

  document.addEventListener("mouseup", function (event) {
    var prose = event.target.closest && event.target.closest("[data-comment-target]");
    if (prose) setTimeout(function () { offerComment(prose); }, 0);
    else if (!button || event.target !== button) hideButton();
  });
  document.addEventListener("keyup", function (event) {
    if (!event.shiftKey) return;
    var sel = window.getSelection();
    var node = sel && sel.anchorNode;
    var el = node && (node.nodeType === 1 ? node : node.parentElement);
    var prose = el && el.closest && el.closest("[data-comment-target]");
    if (prose) offerComment(prose);
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest && event.target.closest("[data-anchor-clear]");
    if (clear) clearAnchor(clear.closest("form"));
    var quote = event.target.closest && event.target.closest("[data-quote-reply]");
    if (quote) {
      var card = document.getElementById("thread-" + quote.getAttribute("data-thread"));
      var form = card && card.querySelector(".reply-form");
      if (!form) return;
      form.querySelector("[data-reply-to]").value = quote.getAttribute("data-quote-reply");
      var comment = quote.closest(".comment");
      var who = comment.querySelector(".author");
      var label = form.querySelector("[data-reply-label]");
      label.textContent = "Replying to " + (who ? who.textContent.trim() : "a comment") + "’s comment";
      label.hidden = false;
      form.querySelector("textarea").focus();
    }
  });

  /* @mentions: suggestions from the server (an htmx request), inserted at the caret */
  var timer = null;

  function tokenAt(field) {
    var upto = field.value.slice(0, field.selectionStart);
    var match = /(^|[\s(\[>])@([A-Za-z0-9_.-]{0,40})$/.exec(upto);
    return match ? match[2] : null;
  }

  function menuOf(field) { return field.parentElement.querySelector(".mention-menu"); }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea[data-mentions]")) return;
    var menu = menuOf(field);
    var token = tokenAt(field);
    clearTimeout(timer);
    if (token === null) { menu.hidden = true; return; }
    timer = setTimeout(function () {
      htmx.ajax("GET", "/users/suggest?q=" + encodeURIComponent(token), { target: menu, swap: "innerHTML" })
        .then(function () {
          menu.hidden = !menu.querySelector(".mention-option");
          var first = menu.querySelector(".mention-option");
          if (first) first.classList.add("is-active");
        });
    }, 150);
  });

  function choose(field, option) {
    var name = option.getAttribute("data-mention");
    var caret = field.selectionStart;
    var upto = field.value.slice(0, caret).replace(/@([A-Za-z0-9_.-]{0,40})$/, "@" + name + " ");
    field.value = upto + field.value.slice(caret);
    field.selectionStart = field.selectionEnd = upto.length;
    menuOf(field).hidden = true;
    field.focus();
  }

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".mention-option");
    if (!option) return;
    event.preventDefault();
    choose(option.closest(".mention-wrap").querySelector("textarea"), option);
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea[data-mentions]")) return;
    var menu = menuOf(field);
    if (menu.hidden) return;
    var options = Array.prototype.slice.call(menu.querySelectorAll(".mention-option"));
    var index = options.findIndex(function (o) { return o.classList.contains("is-active"); });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (options[index]) options[index].classList.remove("is-active");
      index = (index + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
      options[index].classList.add("is-active");
    } else if ((event.key === "Enter" || event.key === "Tab") && options[index]) {
      event.preventDefault();
      choose(field, options[index]);
    } else if (event.key === "Escape") {
      menu.hidden = true;
    }
  });
})();

/* --- workshops: the live room (poll guard, shared timer, idea box follows the current item) ---- */
(function () {
  "use strict";

  // Skip a room poll while someone is using a control inside the room (a cluster name being
  // typed, a select opened, a confirmation open): the swap would throw that away.
  function roomBusy(region) {
    var active = document.activeElement;
    var busy = active && active !== document.body && region.contains(active)
      && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    var typed = Array.prototype.some.call(region.querySelectorAll("input[type=text], textarea"),
      function (field) { return field.value.trim() !== ""; });
    return busy || typed || !!region.querySelector("details.confirm[open], details.ws-tools[open]");
  }

  function probeRegion(event) {
    var ctx = event.detail && event.detail.ctx;
    var el = (ctx && ctx.sourceElement) || event.target;
    if (!el.classList || !el.classList.contains("ws-probe")) return null;
    return el.closest("#room");
  }

  document.addEventListener("htmx:before:request", function (event) {
    var region = probeRegion(event);
    if (region && roomBusy(region)) event.preventDefault();
  });
  // A poll sent just before someone opened a control must not swap it away when it returns;
  // the next poll brings the change once they are done.
  document.addEventListener("htmx:before:swap", function (event) {
    var region = probeRegion(event);
    if (region && roomBusy(region)) event.preventDefault();
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The server sends the seconds left with every room; the browser counts down in between.
  function tick() {
    document.querySelectorAll("[data-ws-timer]").forEach(function (timer) {
      var value = timer.querySelector("[data-ws-timer-value]");
      if (!value || timer.getAttribute("data-remaining") === "") return;
      if (!timer.hasAttribute("data-deadline")) {
        var seconds = parseInt(timer.getAttribute("data-remaining"), 10) || 0;
        timer.setAttribute("data-deadline", String(Date.now() + seconds * 1000));
      }
      var left = parseInt(timer.getAttribute("data-remaining"), 10) || 0;
      if (timer.getAttribute("data-running") === "true") {
        left = Math.max(0, Math.round((parseInt(timer.getAttribute("data-deadline"), 10) - Date.now()) / 1000));
      }
      value.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      timer.classList.toggle("is-low", left > 0 && left <= 60);
      timer.classList.toggle("is-over", left === 0);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);

  // The idea box sits outside the polled room: keep its agenda item in step with the room.
  function follow() {
    var room = document.getElementById("room");
    var form = document.querySelector("form[data-ws-compose]");
    if (!room || !form) return;
    var id = room.getAttribute("data-current-item");
    var input = form.querySelector("[data-ws-item]");
    var title = form.querySelector("[data-ws-item-title]");
    if (!id) { form.hidden = true; return; }
    form.hidden = false;
    if (input && input.value !== id) {
      input.value = id;
      if (title) title.textContent = room.getAttribute("data-current-title") || "";
      form.classList.add("is-moved");
      setTimeout(function () { form.classList.remove("is-moved"); }, 2500);
    }
  }
  document.addEventListener("htmx:after:swap", function () { follow(); tick(); });
})();
