/* django-convites: the Print button of the pages that show backup codes. Without JavaScript the button
 * stays hidden and the browser's own Print command does the same (the stylesheet prints the codes alone). */
"use strict";
document.querySelectorAll("[data-convites-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
