// Builds the static site into web/dist: the playground (CodeMirror and the page's code bundled by
// esbuild, Pyodide's files copied from node_modules with its standard library compiled to bytecode,
// cnndsl's Python sources and bytecode as one JSON file the worker writes into Pyodide's file system) and the manual (Markdown rendered to HTML).
// Nothing is fetched from the network, at build time or when the site runs.
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const web = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(web);
const dist = path.join(web, "dist");
const src = path.join(web, "src");

// The examples menu: [title, file in examples/]
const EXAMPLES = [
  ["LeNet-5", "lenet.cnn"],
  ["Coursera CNN (the seed's table)", "coursera_cnn.cnn"],
  ["MNIST CNN (the seed's question)", "mnist_cnn.cnn"],
  ["CIFAR-10 CNN", "cifar10_cnn.cnn"],
  ["VGG16", "vgg16.cnn"],
  ["ResNet50", "resnet50.cnn"],
  ["MobileNetV2", "mobilenet_v2.cnn"],
  ["EfficientNetB0", "efficientnet_b0.cnn"],
  ["U-Net", "unet.cnn"],
  ["Siamese network (shared layers)", "siamese.cnn"],
  ["EfficientNet B0–B7 (a family: its params as inputs)", "families/efficientnet.cnn"],
  ["MobileNetV2 (a family: alpha, size)", "families/mobilenet_v2.cnn"],
  ["MobileNetV3 Small/Large (a family)", "families/mobilenet_v3.cnn"],
];

// Where the worker writes cnndsl's files in Pyodide's file system (the .pyc files name their sources there)
const SITE_ROOT = "/cnndsl-site";

// Pyodide's files the worker loads; anything missing is a build error, never a fetch from elsewhere.
const PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"];

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

// Pyodide, from the npm package
const pyodide = path.join(web, "node_modules", "pyodide");
for (const name of PYODIDE_FILES) copy(path.join(pyodide, name), path.join(dist, "pyodide", name));

// cnndsl's Python sources: every .py file of the package, and the grammar the wheel ships
function pythonFiles(dir, out = {}) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__") pythonFiles(full, out);
    } else if (entry.name.endsWith(".py")) {
      out[path.relative(root, full).split(path.sep).join("/")] = fs.readFileSync(full, "utf8");
    }
  }
  return out;
}
const files = pythonFiles(path.join(root, "cnndsl"));
files["cnndsl/grammar/cnndsl.lark"] = fs.readFileSync(path.join(root, "grammar", "cnndsl.lark"), "utf8");
// compiled by Pyodide itself (in Node), with the standard library: see bytecode.mjs
const { compileBytecode } = await import("./bytecode.mjs");
const bytecode = await compileBytecode({ web, dist, files, siteRoot: SITE_ROOT });
fs.mkdirSync(path.join(dist, "python"), { recursive: true });
fs.writeFileSync(path.join(dist, "python", "files.json"), JSON.stringify({ root: SITE_ROOT, sources: files, bytecode }));

// The examples, bundled into the page
const examples = EXAMPLES.map(([title, file]) => ({
  title,
  file,
  text: fs.readFileSync(path.join(root, "examples", file), "utf8"),
}));
const virtualExamples = {
  name: "examples",
  setup(b) {
    b.onResolve({ filter: /^virtual:examples$/ }, () => ({ path: "examples", namespace: "virtual" }));
    b.onLoad({ filter: /.*/, namespace: "virtual" }, () => ({ contents: JSON.stringify(examples), loader: "json" }));
  },
};

await build({
  entryPoints: { app: path.join(src, "main.js") },
  bundle: true,
  format: "esm",
  splitting: true, // the diagram's Graphviz loads only when its tab opens
  minify: true,
  sourcemap: false,
  target: "es2022",
  outdir: dist,
  plugins: [virtualExamples],
  logLevel: "warning",
});
await build({
  entryPoints: { worker: path.join(src, "worker.js") },
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: dist,
  external: ["./pyodide/pyodide.mjs"],
  logLevel: "warning",
});
copy(path.join(src, "index.html"), path.join(dist, "index.html"));
copy(path.join(src, "style.css"), path.join(dist, "style.css"));

// The manual
const { renderManual } = await import("./manual.mjs");
renderManual({ root, dist, src });

console.log(`built ${path.relative(process.cwd(), dist) || "."}: ${Object.keys(files).length} Python files, ${examples.length} examples`);
