// Baton's small amount of page glue. htmx does the rest.

// The Content-Security-Policy refuses inline styles and eval: htmx must neither add its
// indicator <style> (its rules are in baton.css) nor evaluate hx-on / js: attributes.
// Set here, not in a <meta name="htmx-config">: htmx reads only the first such meta, and
// pages have their own (handoffs/handoff/_htmx_config.html). This file loads right after
// htmx, before htmx reads its config when the document is ready.
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

// Behaviours named by data attributes, because the Content-Security-Policy refuses
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
