// The API key form's tag check, answered as you type. The answer comes from the server
// (GET /api/v2/api_keys/tag_check runs the same rule as every request): nothing is decided here.
// Without JavaScript the form's "Check" button gives the same answer.
"use strict";
(() => {
  const tags = document.getElementById("tags");
  const tag = document.getElementById("check_tag");
  const answer = document.getElementById("tag-answer");
  if (!tags || !tag || !answer) {
    return;
  }
  let pending = null;
  let asked = 0;

  function show(text, verdict) {
    answer.textContent = text;
    answer.classList.remove("yes", "no");
    if (verdict) {
      answer.classList.add(verdict);
    }
  }

  async function ask() {
    const number = ++asked;
    if (!tag.value.trim()) {
      show("", null);
      return;
    }
    const query = new URLSearchParams({ tags: tags.value, tag: tag.value });
    let text = "Could not check right now; use the Check button.";
    let verdict = null;
    try {
      const response = await fetch("/api/v2/api_keys/tag_check?" + query, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await response.json();
      if (response.ok) {
        const result = body.data;
        verdict = result.allowed ? "yes" : "no";
        text = (result.allowed ? "Allowed: a key with " : "Refused: a key with ") +
          (result.tags || "(no patterns)") + (result.allowed ? " may call " : " may not call ") +
          result.tag + ".";
      } else if (response.status === 400) {
        text = "These tag patterns are not valid.";
        verdict = "no";
      }
    } catch (error) {
      // Keep the fallback sentence: the form still works without this.
    }
    if (number === asked) {
      show(text, verdict);
    }
  }

  function later() {
    window.clearTimeout(pending);
    pending = window.setTimeout(ask, 250);
  }

  tags.addEventListener("input", later);
  tag.addEventListener("input", later);
})();
