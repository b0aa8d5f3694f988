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
// Deploy form: a generated name that was not edited follows the chosen engine
// (qwen3-8b-vllm -> qwen3-8b-sglang). The server does the same, so this is only for the eye.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("#deploy-form input[name=engine]")) return;
    var name = document.querySelector("#deploy-form input[data-generated-names]");
    if (!name) return;
    var generated = JSON.parse(name.getAttribute("data-generated-names") || "{}");
    var names = Object.keys(generated).map(function (key) { return generated[key]; });
    if ((name.value === "" || names.indexOf(name.value) !== -1) && generated[radio.value]) {
      name.value = generated[radio.value];
    }
  }, true);
})();
