// The Try tab: sends the chat to Dynamote's chat API and shows the answer as it streams in,
// with its time to first token, tokens per second and total time. Loaded with the panel;
// listens on the document, so a panel swapped in later works too.
(function () {
  "use strict";
  if (window.dynamotePlayground) return;
  window.dynamotePlayground = true;

  var conversations = new WeakMap(); // form -> messages sent so far

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function showError(form, message) {
    var box = form.querySelector("[data-chat-error]");
    box.textContent = message;
    box.classList.toggle("hidden", !message);
  }

  function addTurn(form, role, text) {
    var list = form.querySelector("[data-conversation]");
    var item = element("li", role === "user" ? "self-end max-w-[85%] rounded-lg bg-zinc-800 px-3 py-2 text-sm" : "max-w-[85%] rounded-lg border border-zinc-700 px-3 py-2 text-sm");
    item.setAttribute("aria-label", role === "user" ? "Your message" : "Answer");
    var body = element("p", "whitespace-pre-wrap break-words", text);
    body.setAttribute("data-text", "");
    item.appendChild(body);
    list.appendChild(item);
    return item;
  }

  function seconds(ms) {
    return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(2) + " s";
  }

  function timings(item, t) {
    var line = element("p", "mt-1 text-xs text-zinc-400 tabular-nums");
    line.setAttribute("data-timings", "");
    var rate = t.tokens > 1 && t.end > t.first ? ((t.tokens - 1) * 1000) / (t.end - t.first) : 0;
    line.textContent =
      "First token " + seconds(t.first - t.start) +
      " · " + rate.toFixed(1) + " tokens/s" +
      " · " + seconds(t.end - t.start) + " total" +
      " · " + t.tokens + " token" + (t.tokens === 1 ? "" : "s");
    item.appendChild(line);
  }

  function errorMessage(status, text) {
    try {
      var data = JSON.parse(text);
      if (data && data.error) {
        var details = [];
        Object.keys(data.fields || {}).forEach(function (field) {
          details.push(field + ": " + data.fields[field].join(" "));
        });
        return [data.error].concat(details).join(" ");
      }
    } catch (e) { /* not JSON */ }
    return "Dynamote answered HTTP " + status + ".";
  }

  async function send(form) {
    var fields = new FormData(form);
    var message = String(fields.get("message") || "").trim();
    if (!message) {
      showError(form, "Type a message first.");
      return;
    }
    var history = conversations.get(form) || [];
    var messages = [];
    var system = String(fields.get("system") || "").trim();
    if (system) messages.push({ role: "system", content: system });
    messages = messages.concat(history, [{ role: "user", content: message }]);
    var body = {
      messages: messages,
      temperature: Number(fields.get("temperature")),
      max_tokens: Number(fields.get("max_tokens")),
      stream: true,
    };
    showError(form, "");
    var button = form.querySelector("[data-send]");
    button.disabled = true;
    addTurn(form, "user", message);
    var item = addTurn(form, "assistant", "");
    var text = item.querySelector("[data-text]");
    item.setAttribute("aria-busy", "true");
    var t = { start: performance.now(), first: 0, end: 0, tokens: 0 };
    var answer = "";
    var finish = "";
    var failure = "";
    try {
      var response = await fetch(form.getAttribute("data-chat-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (!response.ok) {
        failure = errorMessage(response.status, await response.text());
      } else {
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        var usage = null;
        for (;;) {
          var part = await reader.read();
          if (part.done) break;
          buffer += decoder.decode(part.value, { stream: true });
          var events = buffer.split("\n\n");
          buffer = events.pop();
          for (var i = 0; i < events.length; i++) {
            var lines = events[i].split("\n");
            var kind = "message";
            var data = "";
            for (var j = 0; j < lines.length; j++) {
              if (lines[j].indexOf("event:") === 0) kind = lines[j].slice(6).trim();
              else if (lines[j].indexOf("data:") === 0) data += lines[j].slice(5).trim();
            }
            if (!data || data === "[DONE]") continue;
            var chunk = JSON.parse(data);
            if (kind === "error") {
              failure = chunk.error;
              continue;
            }
            if (chunk.usage) usage = chunk.usage;
            var choice = (chunk.choices || [])[0];
            if (!choice) continue;
            var piece = (choice.delta || {}).content || "";
            if (piece) {
              if (!t.first) t.first = performance.now();
              t.tokens += 1;
              answer += piece;
              text.textContent = answer;
            }
            if (choice.finish_reason) finish = choice.finish_reason;
          }
        }
        t.end = performance.now();
        if (usage && usage.completion_tokens) t.tokens = usage.completion_tokens;
      }
    } catch (e) {
      failure = "The answer could not be read: " + e.message + ". Check that Dynamote is reachable and try again.";
    }
    item.removeAttribute("aria-busy");
    button.disabled = false;
    if (failure) {
      showError(form, failure);
      if (!answer) item.remove();
      if (answer) history.push({ role: "user", content: message }, { role: "assistant", content: answer });
      conversations.set(form, history);
      return;
    }
    if (!answer) {
      text.textContent = "";
      showError(form, "The model answered nothing (finish reason: " + (finish || "none") + "). Try another message, or more max tokens.");
      item.remove();
      return;
    }
    if (finish === "length") {
      var cut = element("p", "mt-1 text-xs text-amber-300", "Cut at max tokens: raise Max tokens for a longer answer.");
      item.appendChild(cut);
    }
    timings(item, t);
    history.push({ role: "user", content: message }, { role: "assistant", content: answer });
    conversations.set(form, history);
    form.querySelector("[name=message]").value = "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-playground]");
    if (!form) return;
    event.preventDefault();
    send(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-new-chat]");
    if (!button) return;
    var form = button.closest("[data-playground]");
    conversations.delete(form);
    form.querySelector("[data-conversation]").textContent = "";
    showError(form, "");
  });
})();
