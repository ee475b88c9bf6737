// The pipeline board (templates/handoffs/deals/board.html): drag a card to another
// column to move its deal, or choose the stage in the card's menu. A file, not an inline
// script: the Content-Security-Policy allows scripts from 'self' only.
//
// Everything here is an enhancement: without it, each card's menu is still a native
// <details> holding a plain form (one submit button per stage), which the server answers
// with a redirect back to the board, or to the close form for won and lost.
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

  // ---- the card's stage menu ----------------------------------------------------------

  function closeMenus(except) {
    document.querySelectorAll("details.stage-menu[open]").forEach(function (menu) {
      if (menu !== except) {
        menu.open = false;
      }
    });
  }

  // A column scrolls, and would clip a menu positioned inside it: float the open menu
  // above the page (position: fixed), under its button, or above it near the bottom.
  function place(menu) {
    var items = menu.querySelector(".stage-menu-items");
    var anchor = menu.querySelector("summary").getBoundingClientRect();
    items.classList.add("is-floating");
    var width = items.offsetWidth;
    var height = items.offsetHeight;
    var margin = 8;
    var left = Math.max(margin, Math.min(anchor.right - width, window.innerWidth - width - margin));
    var top = anchor.bottom + 2;
    if (top + height > window.innerHeight - margin && anchor.top - height - 2 > margin) {
      top = anchor.top - height - 2;
    }
    // CSSOM, not a style attribute: the policy (style-src 'self') allows this.
    items.style.left = left + "px";
    items.style.top = top + "px";
  }

  // "toggle" does not bubble: listen in the capture phase, for menus swapped in later too.
  document.addEventListener(
    "toggle",
    function (event) {
      var menu = event.target;
      if (menu.matches && menu.matches("details.stage-menu") && menu.open) {
        closeMenus(menu);
        place(menu);
      }
    },
    true
  );
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.stage-menu")) {
      closeMenus(null);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var open = document.querySelector("details.stage-menu[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
  // A floating menu would stay behind when its card scrolls away: close it instead.
  document.addEventListener(
    "scroll",
    function (event) {
      if (!(event.target.closest && event.target.closest(".stage-menu-items"))) {
        closeMenus(null);
      }
    },
    true
  );
  window.addEventListener("resize", function () {
    closeMenus(null);
  });

  // The board is swapped whole after a move: give the keyboard its place back, on the
  // title of the card that was moved from its menu, rather than losing it to the page.
  var movedCard = null;
  document.addEventListener("submit", function (event) {
    var card = event.target.closest && event.target.closest(".stage-menu") && event.target.closest(".kanban-card");
    movedCard = card ? card.dataset.testid : null;
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!movedCard || !event.detail.target || event.detail.target.id !== "board") {
      return;
    }
    var title = document.querySelector("#board [data-testid='" + movedCard + "'] .kanban-card-title");
    movedCard = null;
    if (title) {
      title.focus();
    }
  });

  // ---- dragging ---------------------------------------------------------------------------

  function clearDropTargets() {
    document.querySelectorAll(".kanban-list.is-drop-target").forEach(function (list) {
      list.classList.remove("is-drop-target");
    });
  }

  htmx.onLoad(function (root) {
    root.querySelectorAll(".kanban-list").forEach(function (list) {
      if (list.dataset.sortable) {
        return;
      }
      list.dataset.sortable = "1";
      Sortable.create(list, {
        // Closed columns take a drop (it opens the close form) but give nothing back.
        group: { name: "board", pull: list.dataset.open === "1", put: true },
        draggable: ".kanban-card[data-movable='1']",
        // The menu is clicked, never dragged.
        filter: ".stage-menu",
        preventOnFilter: false,
        // On a touch screen a quick swipe scrolls the board; a short press picks a card up.
        delayOnTouchOnly: true,
        delay: 150,
        animation: 150,
        onStart: function () {
          closeMenus(null);
          var board = document.getElementById("board");
          if (board) {
            board.classList.add("is-dragging");
          }
        },
        onMove: function (event) {
          clearDropTargets();
          event.to.classList.add("is-drop-target");
        },
        onEnd: function () {
          clearDropTargets();
          var board = document.getElementById("board");
          if (board) {
            board.classList.remove("is-dragging");
          }
        },
        onAdd: function (event) {
          var card = event.item;
          // The board re-renders on every move; its scope ("mine" or "all") rides on it.
          // A drop on won or lost is answered with HX-Redirect to the close form.
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
