// Baton's one script of its own, on every page (page-specific scripts such as board.js
// stay on their pages). It loads in <head>, right after htmx and before the body is parsed,
// for two reasons: the theme must be set before the first paint (no white flash in dark
// mode), and htmx's config must be set before htmx processes the document. So everything
// below either listens on `document` (which exists already) or waits for DOMContentLoaded.
//
// Sections: the theme · htmx's config and errors · small data-attribute behaviours ·
// form errors (focus the first invalid field) · the top bar's search box.

// ---- The theme: Bootstrap 5.3 switches on <html data-bs-theme>; follow the system setting,
// also when it changes while the page is open (macOS and Windows switch at dusk).
(function () {
  "use strict";
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function applyTheme() {
    document.documentElement.dataset.bsTheme = query && query.matches ? "dark" : "light";
  }

  applyTheme();
  // Paper is white: print in the light theme (the hand-off brief's Print button), then return.
  window.addEventListener("beforeprint", function () {
    document.documentElement.dataset.bsTheme = "light";
  });
  window.addEventListener("afterprint", applyTheme);
  if (query && query.addEventListener) {
    query.addEventListener("change", applyTheme);
  } else if (query && query.addListener) {
    query.addListener(applyTheme); // Safari before 14
  }
})();

// ---- htmx. The Content-Security-Policy refuses inline styles and eval: htmx must neither
// add its indicator <style> (its rules are in baton.css) nor evaluate hx-on / js:
// attributes. Set here, not in a <meta name="htmx-config">: htmx reads only the first such
// meta, and pages have their own (handoffs/handoff/_htmx_config.html). htmx reads its config
// when the document is ready, after this runs.
if (window.htmx) {
  htmx.config.includeIndicatorStyles = false;
  htmx.config.allowEval = false;
}
document.addEventListener("htmx:responseError", function (event) {
  // A failed htmx request must never fail silently: tell the user.
  const status = event.detail.xhr.status;
  const text = status === 403 ? "You may not do that." : status === 409 ? "Someone else changed this first: reload the page." : "That did not work (" + status + "). Nothing was saved.";
  const box = document.createElement("div");
  box.className = "alert alert-danger alert-dismissible position-fixed bottom-0 end-0 m-3";
  box.setAttribute("role", "alert");
  box.innerHTML = text + '<button type="button" class="btn-close" data-bs-dismiss="alert" aria-label="Close"></button>';
  document.body.appendChild(box);
});

// ---- Behaviours named by data attributes, because the Content-Security-Policy refuses
// inline handlers (onclick=, onfocus=). Delegated from the document, so they also work
// in fragments htmx swaps in later.
document.addEventListener("click", function (event) {
  // <button data-print>: print the page (the hand-off brief).
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
document.addEventListener("focusin", function (event) {
  // <input data-select-on-focus>: select the whole value, ready to copy (a new API token).
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
    event.target.select();
  }
});

// ---- Form errors. After a failed submit: put the cursor in the first invalid field (the
// error summary at the top of the form, templates/partials/form_errors.html, lists every
// error), and make the summary's links focus their field, not just scroll to it.
(function () {
  "use strict";

  var FIELDS = "input, select, textarea";

  function focusable(element) {
    return element && !element.disabled && element.type !== "hidden" && element.getClientRects().length > 0;
  }

  function fieldOf(link) {
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (target && !target.matches(FIELDS)) {
      target = target.querySelector(FIELDS);
    }
    if (!focusable(target) && link.dataset.field) {
      // A group of radios or checkboxes: its first box.
      target = Array.prototype.find.call(document.getElementsByName(link.dataset.field), focusable);
    }
    return focusable(target) ? target : null;
  }

  function focusFirstInvalid(root) {
    var summary = root.querySelector("[data-testid='error-summary']");
    var invalid = Array.prototype.find.call(
      root.querySelectorAll("[aria-invalid='true'], .is-invalid"),
      function (element) {
        return element.matches(FIELDS) && focusable(element);
      }
    );
    if (invalid) {
      invalid.focus();
    } else if (summary) {
      summary.focus(); // the errors are about the whole form: read them first
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-testid='error-summary'] a[href^='#']");
    var field = link && fieldOf(link);
    if (field) {
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-testid='error-summary']")) {
      focusFirstInvalid(document);
    }
  });

  // A form swapped in by htmx (the hand-off's ownership panel…) that came back with errors.
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt;
    if (root && root.querySelector && root.querySelector("[data-testid='error-summary'], .is-invalid")) {
      focusFirstInvalid(root);
    }
  });
})();

// ---- The top bar's search box (issue 16). The box is a plain GET form to /search/, so it
// works without this script; htmx fetches the results as the user types (the box's hx-get)
// into #search-dropdown. This adds the keyboard: "/" or Ctrl-K (⌘K) focuses the box,
// the arrow keys move through the results, Enter opens the chosen one, Escape closes.
// It follows the ARIA combobox pattern: focus stays in the box and aria-activedescendant
// names the result the arrows chose, so a screen reader reads it out.
(function () {
  "use strict";

  function box() {
    return document.getElementById("global-search");
  }

  function dropdown() {
    return document.getElementById("search-dropdown");
  }

  function options() {
    const menu = dropdown();
    return menu ? Array.from(menu.querySelectorAll("[role=option]")) : [];
  }

  function isOpen() {
    const menu = dropdown();
    return Boolean(menu && menu.classList.contains("show"));
  }

  function setOpen(open) {
    const input = box();
    const menu = dropdown();
    if (!input || !menu) return;
    menu.classList.toggle("show", open);
    input.setAttribute("aria-expanded", open && options().length > 0 ? "true" : "false");
    if (!open) choose(-1);
  }

  function chosenIndex() {
    return options().findIndex(function (option) {
      return option.getAttribute("aria-selected") === "true";
    });
  }

  function choose(index) {
    const input = box();
    options().forEach(function (option, position) {
      const chosen = position === index;
      option.setAttribute("aria-selected", chosen ? "true" : "false");
      option.classList.toggle("active", chosen);
      if (chosen) {
        input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    });
    if (index < 0 && input) input.removeAttribute("aria-activedescendant");
  }

  function typingInAField(target) {
    return Boolean(
      target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
    );
  }

  // "/" (outside a field, where it is a character) and Ctrl-K / ⌘K from anywhere.
  document.addEventListener("keydown", function (event) {
    const input = box();
    if (!input) return;
    const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInAField(event.target);
    const commandK = (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k";
    if (!slash && !commandK) return;
    event.preventDefault();
    // On a phone the box is inside the collapsed navigation (not rendered): open it first.
    const collapsed = input.closest(".collapse");
    if (input.offsetParent === null && collapsed && window.bootstrap) {
      window.bootstrap.Collapse.getOrCreateInstance(collapsed, { toggle: false }).show();
    }
    input.focus();
    input.select();
  });

  document.addEventListener("keydown", function (event) {
    const input = box();
    if (!input || event.target !== input) return;
    const count = options().length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!count) return;
      event.preventDefault();
      if (!isOpen()) setOpen(true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      const current = chosenIndex();
      const next = current < 0 ? (step > 0 ? 0 : count - 1) : (current + step + count) % count;
      choose(next);
    } else if (event.key === "Enter") {
      const index = chosenIndex();
      // Nothing chosen: the form submits as without JavaScript, to the full results page.
      if (index < 0 || !isOpen()) return;
      event.preventDefault();
      window.location.assign(options()[index].href);
    } else if (event.key === "Escape") {
      if (isOpen()) {
        event.preventDefault();
        setOpen(false);
      }
    }
  });

  // New results: show them while the user is still in the box and it holds a query.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== dropdown()) return;
    const input = box();
    choose(-1);
    setOpen(document.activeElement === input && input.value.trim() !== "");
  });

  document.addEventListener("input", function (event) {
    // An emptied box closes at once, without waiting for the answer.
    if (event.target === box() && event.target.value.trim() === "") setOpen(false);
  });

  document.addEventListener("focusin", function (event) {
    const input = box();
    if (event.target === input && input.value.trim() !== "" && dropdown().children.length) setOpen(true);
  });

  // A click or a tab elsewhere closes the dropdown.
  document.addEventListener("click", function (event) {
    const input = box();
    if (input && isOpen() && !input.form.contains(event.target)) setOpen(false);
  });
  document.addEventListener("focusout", function (event) {
    const input = box();
    if (!input || event.target !== input) return;
    // Let a click on a result land first; then close if focus left the form.
    window.setTimeout(function () {
      if (!input.form.contains(document.activeElement)) setOpen(false);
    }, 150);
  });
})();
