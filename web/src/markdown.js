// The few Markdown forms cnndsl's hovers use (bold, code, lists, fenced blocks), escaped first:
// a layer's name is the user's text and must never become markup.
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function inline(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
}

export function markdownToHtml(markdown) {
  const out = [];
  let list = false;
  let fence = null;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) {
      if (fence === null) {
        if (list) (out.push("</ul>"), (list = false));
        fence = [];
      } else {
        out.push(`<pre>${escapeHtml(fence.join("\n"))}</pre>`);
        fence = null;
      }
    } else if (fence !== null) {
      fence.push(line);
    } else if (line.startsWith("- ")) {
      if (!list) (out.push("<ul>"), (list = true));
      out.push(`<li>${inline(line.slice(2))}</li>`);
    } else {
      if (list) (out.push("</ul>"), (list = false));
      if (line.trim()) out.push(`<p>${inline(line)}</p>`);
    }
  }
  if (fence !== null) out.push(`<pre>${escapeHtml(fence.join("\n"))}</pre>`);
  if (list) out.push("</ul>");
  return out.join("");
}
