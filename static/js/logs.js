// The Logs tab: follows the chosen pods' logs over server-sent events, like stern (each pod's
// lines carry its name in its own colour), with a filter, auto-scroll, wrap and download.
(function () {
  "use strict";

  var COLOURS = [
    "text-sky-300",
    "text-amber-300",
    "text-fuchsia-300",
    "text-emerald-300",
    "text-rose-300",
    "text-violet-300",
    "text-lime-300",
    "text-orange-300",
  ];
  var MAX_LINES = 20000; // older lines are dropped, so a long follow does not slow the page

  function setup(root) {
    if (root.dataset.logsReady) return;
    root.dataset.logsReady = "1";
    var form = root.querySelector("[data-logs-form]");
    var component = root.querySelector("[data-logs-component]");
    var pod = root.querySelector("[data-logs-pod]");
    var container = root.querySelector("[data-logs-container]");
    var output = root.querySelector("[data-logs-output]");
    var filter = root.querySelector("[data-logs-filter]");
    var status = root.querySelector("[data-logs-status]");
    var startButton = root.querySelector("[data-logs-start]");
    var stopButton = root.querySelector("[data-logs-stop]");
    var autoscrollButton = root.querySelector("[data-logs-autoscroll]");
    var wrapButton = root.querySelector("[data-logs-wrap]");
    var downloadButton = root.querySelector("[data-logs-download]");
    var source = null;
    var autoscroll = true;
    var several = false;
    var colours = {};

    startButton.textContent = "Follow";
    if (!status.textContent.trim()) {
      say("Press Follow to stream the logs live here, starting with the last lines.");
    }

    function showPodsOf(name) {
      Array.prototype.forEach.call(pod.options, function (option) {
        if (!option.value) return;
        option.hidden = option.dataset.component !== name;
      });
      if (pod.selectedOptions[0] && pod.selectedOptions[0].hidden) pod.value = "";
    }
    showPodsOf(component.value);
    component.addEventListener("change", function () {
      pod.value = "";
      showPodsOf(component.value);
    });

    function matches(row) {
      var wanted = filter.value.toLowerCase();
      return !wanted || row.textContent.toLowerCase().indexOf(wanted) !== -1;
    }

    function colourOf(name) {
      if (!(name in colours)) {
        colours[name] = COLOURS[Object.keys(colours).length % COLOURS.length];
      }
      return colours[name];
    }

    function append(line) {
      var row = document.createElement("div");
      if (line.change) {
        // "+ pod … joined" / "- pod … ended", in the pod's colour, like stern.
        row.className = "italic " + colourOf(line.pod);
      } else if (several && line.pod) {
        var prefix = document.createElement("span");
        prefix.className = colourOf(line.pod);
        prefix.textContent = line.pod + " ";
        row.appendChild(prefix);
      }
      row.appendChild(document.createTextNode(line.text));
      if (line.notice && !line.change) row.className = "italic text-zinc-400";
      row.hidden = !matches(row);
      output.appendChild(row);
      while (output.childElementCount > MAX_LINES) output.removeChild(output.firstElementChild);
      if (autoscroll) output.scrollTop = output.scrollHeight;
    }

    function say(text) {
      status.textContent = text;
    }

    // A refused field's message goes next to the field, as the page without JavaScript does.
    function showFieldErrors(fields) {
      root.querySelectorAll("[data-logs-field-error]").forEach(function (note) {
        note.remove();
      });
      form.querySelectorAll("[aria-invalid]").forEach(function (field) {
        field.removeAttribute("aria-invalid");
      });
      Object.keys(fields || {}).forEach(function (name) {
        var field = form.elements[name];
        if (!field || !field.parentNode) return;
        var note = document.createElement("span");
        note.className = "text-xs text-red-300";
        note.dataset.logsFieldError = name;
        note.id = "logs-error-" + name;
        note.textContent = fields[name].join(" ");
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", note.id);
        field.parentNode.appendChild(note);
      });
    }

    function stop() {
      if (source) {
        source.close();
        source = null;
      }
      stopButton.hidden = true;
      startButton.disabled = false;
    }

    function start() {
      stop();
      output.replaceChildren();
      showFieldErrors({});
      colours = {};
      var params = new URLSearchParams(new FormData(form));
      several = !params.get("pod");
      source = new EventSource(root.dataset.streamUrl + "?" + params.toString());
      stopButton.hidden = false;
      startButton.disabled = true;
      say("Connecting…");
      var followed = [];
      var followedContainer = "";
      function sayFollowing() {
        var count = followed.length;
        say("Following " + count + " pod" + (count === 1 ? "" : "s") + " (" + followedContainer + ").");
      }
      source.addEventListener("start", function (event) {
        var data = JSON.parse(event.data);
        followed = data.pods.slice();
        followedContainer = data.container;
        sayFollowing();
      });
      source.onmessage = function (event) {
        var line = JSON.parse(event.data);
        if (line.change === "joined" && followed.indexOf(line.pod) === -1) followed.push(line.pod);
        if (line.change === "ended") {
          followed = followed.filter(function (name) {
            return name !== line.pod;
          });
        }
        if (line.change) sayFollowing();
        append(line);
      };
      source.addEventListener("problem", function (event) {
        var data = JSON.parse(event.data);
        say(data.message);
        showFieldErrors(data.fields);
        stop();
      });
      source.addEventListener("end", function (event) {
        say(JSON.parse(event.data).message || "The log ended.");
        stop();
      });
      source.onerror = function () {
        if (source && source.readyState === EventSource.CLOSED) {
          say("The connection to Dynamote was lost. Follow again to resume.");
          stop();
        }
      };
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start();
    });
    stopButton.addEventListener("click", function () {
      stop();
      say("Stopped.");
    });
    filter.addEventListener("input", function () {
      Array.prototype.forEach.call(output.children, function (row) {
        row.hidden = !matches(row);
      });
    });
    autoscrollButton.addEventListener("click", function () {
      autoscroll = !autoscroll;
      autoscrollButton.setAttribute("aria-pressed", String(autoscroll));
      autoscrollButton.textContent = autoscroll ? "Pause auto-scroll" : "Resume auto-scroll";
      if (autoscroll) output.scrollTop = output.scrollHeight;
    });
    wrapButton.addEventListener("click", function () {
      var wrap = wrapButton.getAttribute("aria-pressed") !== "true";
      wrapButton.setAttribute("aria-pressed", String(wrap));
      output.classList.toggle("whitespace-pre", !wrap);
      output.classList.toggle("whitespace-pre-wrap", wrap);
      output.classList.toggle("break-all", wrap);
    });
    downloadButton.addEventListener("click", function () {
      var text = Array.prototype.map
        .call(output.children, function (row) {
          return row.textContent;
        })
        .join("\n");
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text + "\n"], { type: "text/plain" }));
      link.download = (root.dataset.logsName || "logs") + ".log";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () {
        URL.revokeObjectURL(link.href);
      }, 1000);
    });
    // Leaving the page closes the stream, which hangs up on the cluster's log streams.
    window.addEventListener("pagehide", stop);
    container.addEventListener("change", function () {
      if (source) start();
    });
  }

  function scan() {
    document.querySelectorAll("[data-logs]").forEach(setup);
  }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
  scan();
})();
