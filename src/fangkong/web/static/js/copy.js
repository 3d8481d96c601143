// Copy buttons: <button data-copy-target="ID" data-copy-status="ID" data-copy-hint="…">.
// Uses the clipboard API where the page is a secure context; otherwise selects the text
// and tries the old copy command, telling the user to press Ctrl+C when that fails too.
(function () {
  "use strict";
  function attach(button) {
    const source = document.getElementById(button.dataset.copyTarget);
    const status = document.getElementById(button.dataset.copyStatus);
    if (!source || !status) return;
    const say = (text) => {
      status.textContent = text;
      status.classList.add("shown");
    };
    const fallback = () => {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (e) {
        copied = false;
      }
      say(copied ? "已复制" : button.dataset.copyHint || "已选中文本，请按 Ctrl+C 复制");
    };
    button.addEventListener("click", () => {
      const text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(() => say("已复制"), fallback);
      } else {
        fallback();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("button[data-copy-target]").forEach(attach);
  });
})();
