// Dynamote's small behaviours: menu, toasts, copy buttons. Loaded as a file so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setMenu(open) {
    var sidebar = document.querySelector("[data-sidebar]");
    var backdrop = document.querySelector("[data-sidebar-backdrop]");
    var button = document.querySelector("[data-menu-button]");
    if (!sidebar || !button) return;
    sidebar.classList.toggle("hidden", !open);
    sidebar.classList.toggle("flex", open);
    if (backdrop) backdrop.classList.toggle("hidden", !open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function dismissToast(toast) {
    toast.classList.add("opacity-0", "transition-opacity");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function scheduleToasts(root) {
    (root || document).querySelectorAll("[data-toast]:not([data-scheduled])").forEach(function (toast) {
      toast.setAttribute("data-scheduled", "");
      var delay = toast.getAttribute("role") === "alert" ? 12000 : 6000;
      setTimeout(function () { dismissToast(toast); }, delay);
    });
  }

  function copyText(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.innerText;
    var done = function () {
      var label = button.getAttribute("data-copied-label") || "Copied";
      var original = button.textContent;
      button.textContent = label;
      setTimeout(function () { button.textContent = original; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  }

  // A history snapshot holds form fields as the server rendered them, not as they were
  // when the snapshot was taken; set the fields of URL-carrying forms from the URL.
  function syncFormsWithUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[hx-push-url]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.type === "hidden" || field.type === "submit") return;
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = params.getAll(field.name).indexOf(field.value) !== -1;
        } else if ("value" in field) {
          field.value = params.get(field.name) || "";
        }
      });
    });
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-menu-button], [data-menu-close], [data-sidebar-backdrop], [data-dismiss-toast], [data-copy]");
    if (!el) return;
    if (el.hasAttribute("data-menu-button")) {
      setMenu(el.getAttribute("aria-expanded") !== "true");
    } else if (el.hasAttribute("data-sidebar-backdrop") || el.hasAttribute("data-menu-close")) {
      setMenu(false);
    } else if (el.hasAttribute("data-dismiss-toast")) {
      dismissToast(el.closest("[data-toast]"));
    } else if (el.hasAttribute("data-copy")) {
      copyText(el);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setMenu(false);
  });

  document.addEventListener("DOMContentLoaded", function () { scheduleToasts(); });
  document.addEventListener("htmx:afterSettle", function () { scheduleToasts(); });
  document.addEventListener("htmx:historyRestore", syncFormsWithUrl);
})();

// ---------------------------------------------------------------------------------------------
// Deployments dashboard: polling while the tab is visible, confirmation dialogs.
(function () {
  "use strict";

  // Elements with data-poll="<seconds>" ask for their partial (the custom event their
  // hx-trigger listens to) every so often, only while the tab is visible. The server answers
  // 204 when nothing changed, and stops polling by leaving data-poll out of the partial.
  function pollDue() {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    var now = Date.now();
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      // An open server-sent event stream brings the changes: no polling beside it.
      if (el.closest("[data-streaming]")) return;
      var every = parseFloat(el.getAttribute("data-poll")) * 1000;
      var last = parseFloat(el.getAttribute("data-polled-at") || "0");
      if (!last) {
        el.setAttribute("data-polled-at", String(now));
      } else if (every > 0 && now - last >= every && !el.classList.contains("htmx-request")) {
        el.setAttribute("data-polled-at", String(now));
        window.htmx.trigger(el, "dynamote:poll");
      }
    });
  }
  setInterval(pollDue, 250);

  // Streams (htmx's SSE extension) mark their element while open; polling resumes while one
  // is closed or reconnecting, and a refused stream leaves the page polling.
  document.addEventListener("htmx:sseOpen", function (event) {
    event.target.setAttribute("data-streaming", "");
  });
  ["htmx:sseError", "htmx:sseClose"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      event.target.removeAttribute("data-streaming");
    });
  });
  // A table redrawn by its own stream reconnects at once: no poll in between (an error
  // ends the handover and polling resumes).
  var handedOverAt = 0;
  document.addEventListener("htmx:sseClose", function (event) {
    if (event.detail && event.detail.type === "nodeReplaced") handedOverAt = Date.now();
  });
  document.addEventListener("htmx:afterProcessNode", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("sse-connect") && Date.now() - handedOverAt < 2000) {
      el.setAttribute("data-streaming", "");
    }
  });
  document.addEventListener("visibilitychange", pollDue);

  // Each request says which cluster state the header shows; a poll with nothing new then
  // still brings the header's status when the server knows better.
  document.addEventListener("htmx:configRequest", function (event) {
    var status = document.getElementById("cluster-status");
    if (status) event.detail.headers["X-Dynamote-Cluster"] = status.getAttribute("data-cluster-state");
  });

  // 286 means "nothing will change any more": stop asking.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 286) {
      event.detail.elt.removeAttribute("data-poll");
    }
  });

  function syncConfirm(dialog) {
    var input = dialog.querySelector("[data-confirm-name]");
    var submit = dialog.querySelector("[data-confirm-submit]");
    if (!submit) return;
    submit.disabled = !!input && input.value.trim() !== input.getAttribute("data-confirm-name");
  }

  function openDialogs() {
    document.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      if (dialog.open) return;
      syncConfirm(dialog);
      dialog.addEventListener("close", function () { dialog.remove(); });
      dialog.showModal();
      var first = dialog.querySelector("[data-confirm-name]") || dialog.querySelector("[data-dialog-close]");
      if (first) first.focus();
    });
  }

  function closeDialogs() {
    document.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      if (dialog.open) dialog.close(); else dialog.remove();
    });
  }

  document.addEventListener("htmx:afterSettle", openDialogs);
  document.addEventListener("dynamote:dialog-close", closeDialogs);
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-confirm-name]")) {
      syncConfirm(event.target.closest("form"));
    }
  });
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dialog-close]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) dialog.close();
    }
  });
})();

// ---------------------------------------------------------------------------------------------
// Deploy form: the proposed name. Until the user types their own, the name follows the chosen
// engine and stays free in the chosen namespace (the preview brings the free names for it).
// The server does the same with a name nobody typed, so this is only for the eye.
(function () {
  "use strict";

  function nameField() {
    return document.querySelector("#deploy-form input[name=name]");
  }

  function generated(field) {
    return JSON.parse(field.getAttribute("data-generated-names") || "{}");
  }

  function engine() {
    var checked = document.querySelector("#deploy-form input[name=engine]:checked");
    return checked ? checked.value : "";
  }

  // A name the user typed is theirs; an empty field or a proposed one is not.
  function typed(field) {
    return field.getAttribute("data-typed") === "true";
  }

  function values(names) {
    return Object.keys(names).map(function (key) { return names[key]; });
  }

  // Only a name that is empty or one Dynamote proposed is replaced: the page may have been
  // redrawn (a refused submit) since the user typed, so their name is recognised by its value.
  function propose(field, names, known) {
    if (typed(field) || !names[engine()]) return;
    if (field.value !== "" && known.indexOf(field.value) === -1) return;
    if (field.value !== names[engine()]) field.value = names[engine()];
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!event.isTrusted || !field.matches || !field.matches("#deploy-form input[name=name]")) return;
    var known = values(generated(field));
    field.setAttribute("data-typed", field.value !== "" && known.indexOf(field.value) === -1 ? "true" : "false");
  }, true);

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("#deploy-form input[name=engine]")) return;
    var field = nameField();
    if (field) propose(field, generated(field), values(generated(field)));
  }, true);

  // Each preview carries the names that are free in the namespace it was asked for.
  document.addEventListener("htmx:afterSettle", function () {
    var field = nameField();
    var fresh = document.querySelector("#live [data-generated-names-now]");
    if (!field || !fresh) return;
    var names = JSON.parse(fresh.getAttribute("data-generated-names-now") || "{}");
    var known = values(generated(field)).concat(values(names));
    field.setAttribute("data-generated-names", JSON.stringify(names));
    propose(field, names, known);
  });

  // "Use <name>" after the cluster said the name is taken: fill the field and refresh.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fill-name]");
    if (!button) return;
    var field = nameField();
    if (!field) return;
    field.value = button.getAttribute("data-fill-name");
    field.setAttribute("data-typed", "true");
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // A refused submit (the server triggers this event): bring the first error into view and
  // focus its field; on a phone it may be far above the Deploy button.
  document.addEventListener("dynamote:form-invalid", function () {
    var first = Array.prototype.find.call(
      document.querySelectorAll("#deploy-form .field-errors, #deploy-form [role=alert]"),
      function (el) { return el.textContent.trim() !== ""; }
    );
    if (!first) return;
    var details = first.closest("details");
    if (details) details.open = true;
    var control = /_errors$/.test(first.id) ? document.getElementById(first.id.replace(/_errors$/, "")) : null;
    if (control && !control.matches("input, select, textarea")) {
      control = control.querySelector("input:not([type=hidden]), select, textarea");
    }
    (control || first).scrollIntoView({ block: "center" });
    if (control) control.focus({ preventScroll: true });
  });
})();
