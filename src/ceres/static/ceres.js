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
})();
