// The pipeline board (templates/handoffs/deals/board.html): drag a card to another
// column to move its deal. A file, not an inline script: the Content-Security-Policy
// allows scripts from 'self' only.
(function () {
  "use strict";

  // Refused moves (409 someone else saved first, 422 not allowed) re-render the board
  // with the reason, instead of the generic error toast.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  htmx.onLoad(function (root) {
    root.querySelectorAll(".kanban-list").forEach(function (list) {
      if (list.dataset.sortable) {
        return;
      }
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: { name: "board", pull: list.dataset.open === "1", put: true },
        draggable: ".kanban-card[data-movable='1']",
        animation: 150,
        onAdd: function (event) {
          var card = event.item;
          // The board re-renders on every move; its scope ("mine" or "all") rides on it.
          var board = document.getElementById("board");
          htmx.ajax("POST", card.dataset.stageUrl, {
            target: "#board",
            swap: "outerHTML",
            values: { stage: event.to.dataset.stage, version: card.dataset.version, scope: board ? board.dataset.scope : "" },
          });
        },
      });
    });
  });
})();
