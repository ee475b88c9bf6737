// After a failed submit: put the cursor in the first invalid field (the error summary
// at the top of the form lists every error), and make the summary's links focus their
// field, not just scroll to it. Loaded on every page; no inline script (CSP).
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
