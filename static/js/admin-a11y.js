/* Django's admin (templates/admin/base_site.html), issue 16 accessibility: names for what
   Django renders without one, so a screen reader says what each field is.

   - A date and time (AdminSplitDateTime) is two inputs after the words "Date:" and
     "Time:", with no <label> of their own: each is named "<field> date" / "<field> time".
   - A tabular inline shows its labels once, as column headings: each cell's field is
     named after its column.
   - The filter of a two-list select (SelectFilter2.js) puts aria-label on a <span>, which
     ARIA does not allow without a role: it becomes an image with that name.

   Runs once the page and Django's own widgets are built (they build on "load"), and again
   for each inline row added with "Add another". */
(function () {
  "use strict";

  function hasName(field) {
    if (field.getAttribute("aria-label") || field.getAttribute("aria-labelledby") || field.closest("label")) {
      return true;
    }
    return Boolean(field.id && document.querySelector('label[for="' + CSS.escape(field.id) + '"]'));
  }

  function text(element) {
    return element ? element.textContent.replace(/[:*]/g, "").replace(/\s+/g, " ").trim() : "";
  }

  function splitDateTimeName(field) {
    var part = "";
    for (var node = field.previousSibling; node; node = node.previousSibling) {
      if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) {
        part = node.textContent.replace(":", "").trim();
        break;
      }
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "BR") {
        break;
      }
    }
    var row = field.closest(".form-row, .fieldBox, fieldset");
    var label = row ? row.querySelector("label, legend") : null;
    return (text(label) + " " + part.toLowerCase()).trim();
  }

  function columnName(field) {
    var cell = field.closest("td");
    var table = cell ? cell.closest("table") : null;
    var heading = table ? table.querySelectorAll("thead tr:first-child th")[cell.cellIndex] : null;
    var name = text(heading);
    if (!name && cell && cell.classList.contains("delete")) {
      name = "Delete";
    }
    var row = cell ? cell.closest("tr") : null;
    return name && row ? name + ", row " + (row.sectionRowIndex + 1).toString() : name;
  }

  function nameFields(root) {
    root.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
      if (hasName(field)) {
        return;
      }
      var name = field.closest("p.datetime") ? splitDateTimeName(field) : field.closest("td") ? columnName(field) : "";
      if (name) {
        field.setAttribute("aria-label", name);
      }
    });
    root.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  window.addEventListener("load", function () {
    // After Django's own "load" handlers (SelectFilter2, the calendar shortcuts).
    window.setTimeout(function () { nameFields(document); }, 0);
  });
  document.addEventListener("formset:added", function (event) { nameFields(event.target); });
})();
