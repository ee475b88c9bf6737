// Baton's small amount of page glue. htmx does the rest.
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
