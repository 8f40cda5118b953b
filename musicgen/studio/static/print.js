// musicgen studio print view: engrave each tune (its ABC in data-abc), then print on demand.
"use strict";
document.querySelectorAll(".print-tune").forEach((el) => {
  ABCJS.renderAbc(el, el.dataset.abc, {staffwidth: 680, add_classes: true});
});
document.getElementById("print-now").addEventListener("click", () => window.print());
