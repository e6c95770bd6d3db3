/* Ceres: the little behaviour the pages need besides htmx. No build step, no dependencies. */
(function () {
  "use strict";

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast" + (kind ? " toast-" + kind : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.classList.add("leaving"); }, 3200);
    setTimeout(function () { el.remove(); }, 3600);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy") ? resolve() : reject(); } catch (e) { reject(e); }
      area.remove();
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      copyText(copy.getAttribute("data-copy")).then(function () {
        copy.classList.add("copied");
        setTimeout(function () { copy.classList.remove("copied"); }, 1200);
        toast("Copied to the clipboard");
      }, function () { toast("Could not copy: select the text and copy it by hand", "error"); });
      return;
    }
    var fill = event.target.closest("[data-fill]");
    if (fill) {
      var input = document.querySelector(fill.getAttribute("data-fill"));
      if (input) {
        input.value = fill.getAttribute("data-value");
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.focus();
        document.querySelectorAll("[data-fill].selected").forEach(function (chip) {
          chip.classList.remove("selected");
        });
        fill.classList.add("selected");
      }
    }
  });

  // A plain form that destroys something asks first (htmx forms use hx-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // "/" jumps to the search box, as in most tools.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) {
      return;
    }
    var box = document.querySelector("[data-search-box]");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Keep shared links short: empty filters stay out of the query string.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "") delete params[key];
    });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "You don't have permission to do that."
      : status === 404 ? "That record no longer exists."
      : "Something went wrong (" + status + "). Try again.";
    toast(text, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Ceres can't be reached. Check your connection.", "error");
  });

  window.Ceres = { toast: toast };
})();

/* The inbox and conversations: live SLA countdowns and keyboard shortcuts. */
(function () {
  "use strict";

  // The same words as the server renders (conversations/display.py), every second.
  function span(seconds) {
    var s = Math.floor(Math.max(seconds, 0));
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m";
    var h = Math.floor(m / 60);
    m = m % 60;
    if (h < 24) return h + "h" + (m ? " " + m + "m" : "");
    var d = Math.floor(h / 24);
    h = h % 24;
    return d + "d" + (h ? " " + h + "h" : "");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      var text = left >= 0 ? "due in " + span(left) : "overdue " + span(-left);
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left <= 7200);
      var row = el.closest(".inbox-row");
      if (row) row.classList.toggle("is-overdue", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  // --- the inbox: a selected row that j/k move -------------------------------------------
  var selectedId = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".inbox-row"));
  }

  function select(row) {
    rows().forEach(function (r) {
      r.classList.remove("selected");
      r.removeAttribute("aria-selected");
    });
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.getAttribute("data-id");
    row.scrollIntoView({ block: "nearest" });
  }

  function selected() {
    return document.querySelector(".inbox-row.selected");
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(selected());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : index + step;
    select(all[Math.max(0, Math.min(all.length - 1, next))]);
  }

  function refreshResults() {
    var results = document.getElementById("inbox-results");
    if (!results || !window.htmx) return Promise.resolve();
    return htmx.ajax("GET", location.pathname + location.search, {
      target: "#inbox-results",
      swap: "innerHTML",
    });
  }

  function assignToMe(row) {
    var inbox = document.querySelector("[data-inbox]");
    var me = inbox && inbox.getAttribute("data-me");
    if (!me) {
      window.Ceres.toast("You can't assign conversations.", "error");
      return;
    }
    var body = new URLSearchParams({ assignee: me });
    var headers = Object.assign(
      { "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true" },
      csrfHeaders()
    );
    fetch(row.getAttribute("data-update"), { method: "POST", headers: headers, body: body, credentials: "same-origin" })
      .then(function (response) {
        var away = response.headers.get("HX-Redirect");  // the session has expired
        if (away) { location.href = away; return; }
        if (!response.ok) throw new Error(String(response.status));
        window.Ceres.toast("#" + row.getAttribute("data-id") + " is assigned to you");
        return refreshResults();
      })
      .catch(function (error) {
        var text = error.message === "403" ? "You don't have permission to do that." : "Could not assign it (" + error.message + ").";
        window.Ceres.toast(text, "error");
      });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "inbox-results" && selectedId) {
      select(document.querySelector('.inbox-row[data-id="' + selectedId + '"]'));
    }
    tick();
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest(".inbox-row");
    if (!row || event.target.closest("a, button, input, select")) return;
    if (event.metaKey || event.ctrlKey) {
      window.open(row.getAttribute("data-href"), "_blank");
      return;
    }
    location.href = row.getAttribute("data-href");
  });

  // --- the help overlay ----------------------------------------------------------------
  function showHelp() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) showHelp();
  });

  // A field that Enter should not submit with its form (e.g. a saved reply's variable).
  document.addEventListener("keydown", function (event) {
    var field = event.target.closest && event.target.closest("[data-enter]");
    if (field && event.key === "Enter") {
      event.preventDefault();
      var button = document.querySelector(field.getAttribute("data-enter"));
      if (button) button.click();
    }
    // Ctrl+Enter (or Cmd+Enter) sends the reply.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("[data-reply-body]")) {
      event.preventDefault();
      var form = event.target.closest("form");
      if (form) form.requestSubmit();
    }
    // Escape leaves the search box with its query kept (a search field would clear it), so
    // j/k walk the results.
    if (event.key === "Escape" && event.target.matches("[data-search-box]")) {
      event.preventDefault();
      event.target.blur();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    if (document.querySelector("[data-inbox]")) {
      var row = selected();
      if (key === "j" || key === "ArrowDown") { event.preventDefault(); move(1); return; }
      if (key === "k" || key === "ArrowUp") { event.preventDefault(); move(-1); return; }
      if (!row || (key === "Enter" && event.target.closest("a, button, summary"))) return;
      if (key === "Enter" || key === "o") {
        event.preventDefault();
        location.href = row.getAttribute("data-href");
      } else if (key === "a") {
        event.preventDefault();
        assignToMe(row);
      } else if (key === "e") {
        event.preventDefault();
        location.href = row.getAttribute("data-href") + "?close=1#close";
      }
      return;
    }
    var page = document.querySelector("[data-conversation]");
    if (!page) return;
    if (key === "r") {
      var body = document.querySelector("[data-reply-body]");
      if (body) { event.preventDefault(); body.focus(); }
    } else if (key === "u") {
      event.preventDefault();
      location.href = page.getAttribute("data-inbox-url");
    } else if (key === "e") {
      var close = document.getElementById("close");
      if (close) {
        event.preventDefault();
        close.open = true;
        var note = close.querySelector("textarea");
        if (note) note.focus();
      }
    } else {
      var target = document.querySelector('[data-shortcut="' + key + '"]');
      if (target) { event.preventDefault(); target.click(); }
    }
  });
})();
