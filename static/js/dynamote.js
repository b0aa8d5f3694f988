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
    var el = event.target.closest("[data-menu-button], [data-sidebar-backdrop], [data-dismiss-toast], [data-copy]");
    if (!el) return;
    if (el.hasAttribute("data-menu-button")) {
      setMenu(el.getAttribute("aria-expanded") !== "true");
    } else if (el.hasAttribute("data-sidebar-backdrop")) {
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
