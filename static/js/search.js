// The top bar's search box (issue 16). The box is a plain GET form to /search/, so it
// works without this file; htmx fetches the results as the user types (the box's hx-get)
// into #search-dropdown. This file adds the keyboard: "/" or Ctrl-K (⌘K) focuses the box,
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
