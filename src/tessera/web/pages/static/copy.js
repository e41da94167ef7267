// Copy buttons for codes shown once: <button class="copy" data-copy="ELEMENT-ID" hidden>.
// Without JavaScript the buttons stay hidden and the code is plain, selectable text.
"use strict";
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Select the text to copy it";
    }
    window.setTimeout(() => { button.textContent = label; }, 2500);
  });
});
