// Drag and drop on the pipeline board (desktop). Dropping a card on a column
// fills in and submits the card's own move form, so the server applies the
// same rules as everywhere else; a move to "lost" asks for the reason first.
document.addEventListener("DOMContentLoaded", () => {
  const board = document.querySelector(".crm-board");
  if (!board) return;
  let dragged = null;

  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".crm-card");
    if (dragged) event.dataTransfer.setData("text/plain", dragged.dataset.opportunity);
  });
  board.addEventListener("dragend", () => { dragged = null; });

  board.querySelectorAll(".crm-column").forEach((column) => {
    column.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      column.classList.add("crm-drop-target");
    });
    column.addEventListener("dragleave", () => column.classList.remove("crm-drop-target"));
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      column.classList.remove("crm-drop-target");
      if (!dragged || dragged.closest(".crm-column") === column) return;
      const form = dragged.querySelector(".crm-move-form");
      const stage = column.dataset.stage;
      if (stage === board.dataset.lostStage) {
        const reason = window.prompt(board.dataset.lostPrompt);
        if (!reason || !reason.trim()) return;
        form.elements.lost_reason.value = reason.trim();
      }
      form.elements.stage.value = stage;
      form.submit();
    });
  });
});
