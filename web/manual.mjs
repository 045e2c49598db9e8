// The manual: the project's Markdown pages rendered to HTML beside the playground. Every ```cnn
// snippet gets an "Open in playground" link (a #code= link, with an input line added when the
// snippet has none, as tests/test_readme.py analyses it); links between the pages point at their HTML.
import { Marked } from "marked";
import fs from "node:fs";
import path from "node:path";

// [source Markdown (from the repository root), output page, title]
export const PAGES = [
  ["README.md", "index.html", "Overview"],
  ["docs/manual/tutorial.md", "tutorial.html", "Tutorial: LeNet-5"],
  ["docs/manual/language.md", "language.html", "The language"],
  ["docs/manual/commands.md", "commands.html", "Commands"],
  ["docs/manual/errors-and-warnings.md", "errors-and-warnings.html", "Errors and warnings"],
  ["docs/manual/codegen.md", "codegen.html", "Code generation and importing"],
  ["docs/manual/tools.md", "tools.html", "Playground, editors, notebooks, API"],
  ["docs/manual/examples.md", "examples.html", "Examples"],
  ["docs/manual/internals.md", "internals.html", "Performance and internals"],
  ["docs/blocks.md", "blocks.html", "Blocks of keras.applications"],
  ["docs/importing.md", "importing.html", "Importing Keras models"],
  ["docs/errors.md", "errors.html", "Error catalogue"],
  ["docs/hostile.md", "hostile.html", "Hostile input and bounds"],
];

const SNIPPET_INPUT = "input 56x56x64\n"; // what tests/test_readme.py puts before a snippet with no input

export function slug(text) {
  return text
    .toLowerCase()
    .trim()
    .replace(/<[^>]+>/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function base64url(text) {
  return Buffer.from(text, "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function playgroundText(snippet) {
  return /^(\w+: *)?input /m.test(snippet) ? snippet : SNIPPET_INPUT + snippet;
}

export function renderManual({ root, dist }) {
  const out = path.join(dist, "manual");
  fs.mkdirSync(out, { recursive: true });
  const pageOf = new Map(PAGES.map(([source, page]) => [path.resolve(root, source), page]));
  const nav = PAGES.map(([, page, title]) => [page, title]);
  for (const [source, page, title] of PAGES) {
    const sourcePath = path.resolve(root, source);
    const here = path.dirname(sourcePath);
    const seen = new Map();
    const marked = new Marked({
      gfm: true,
      renderer: {
        heading({ tokens, depth }) {
          const inner = this.parser.parseInline(tokens);
          let id = slug(inner);
          const n = seen.get(id) ?? 0;
          seen.set(id, n + 1);
          if (n) id += `-${n}`;
          return `<h${depth} id="${id}">${inner}</h${depth}>\n`;
        },
        code({ text, lang }) {
          const body = `<pre><code${lang ? ` class="language-${escapeHtml(lang)}"` : ""}>${escapeHtml(text)}</code></pre>`;
          if (lang !== "cnn") return body + "\n";
          const link = `../#code=${base64url(playgroundText(text + "\n"))}`;
          return `<div class="snippet">${body}<a class="open-in-playground" href="${link}">Open in playground</a></div>\n`;
        },
        link({ href, title, tokens }) {
          const inner = this.parser.parseInline(tokens);
          const target = rewriteLink(href, here, root, pageOf, out, dist);
          if (target === null) return `${inner}`;
          return `<a href="${escapeHtml(target)}"${title ? ` title="${escapeHtml(title)}"` : ""}>${inner}</a>`;
        },
        image({ href, text }) {
          const target = rewriteLink(href, here, root, pageOf, out, dist);
          return target === null ? escapeHtml(text) : `<img src="${escapeHtml(target)}" alt="${escapeHtml(text)}">`;
        },
      },
    });
    const body = marked.parse(fs.readFileSync(sourcePath, "utf8"));
    const links = nav
      .map(([p, t]) => `<li><a href="${p}"${p === page ? ' aria-current="page"' : ""}>${escapeHtml(t)}</a></li>`)
      .join("");
    fs.writeFileSync(
      path.join(out, page),
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · cnndsl</title>
<link rel="stylesheet" href="../style.css">
</head>
<body>
<header class="bar"><a class="brand" href="../">cnndsl</a><span class="tagline">the manual</span><a href="../">Playground</a></header>
<div class="manual-page">
<nav><b>Manual</b><ul>${links}</ul></nav>
<article>
${body}
</article>
</div>
</body>
</html>
`,
    );
  }
}

// A link as the site serves it: another manual page, a copied image, an anchor, an outside
// address, or null (a file of the repository that is not on the site: shown as text).
function rewriteLink(href, here, root, pageOf, out, dist) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#")) return href;
  const [file, anchor] = href.split("#");
  const resolved = path.resolve(here, decodeURI(file));
  if (pageOf.has(resolved)) return pageOf.get(resolved) + (anchor ? `#${anchor}` : "");
  if (/\.(png|svg|jpg|jpeg|gif)$/i.test(file) && fs.existsSync(resolved) && resolved.startsWith(root)) {
    const name = path.basename(resolved);
    fs.copyFileSync(resolved, path.join(out, name));
    return name;
  }
  return null;
}
