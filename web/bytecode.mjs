// Python bytecode for the site, compiled at build time by the same Pyodide the page runs (in Node).
// Pyodide's python_stdlib.zip holds only .py files, so every module Python imports while it starts
// (asyncio, typing, inspect, dataclasses…: 194 of them) was compiled from source in the browser on
// each visit: about 60% of the start-up CPU. With .pyc files, start-up costs roughly a third of that.
// The .pyc files are unchecked-hash ones (PEP 552): valid whatever the files' times in Pyodide's MEMFS.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

// Compiles one source: returns the .pyc bytes. Run inside Pyodide, so the magic number is its own.
const COMPILER = `
import importlib.util, importlib._bootstrap_external as _external, io, sys, zipfile

def _pyc(source, filename):
    code = compile(source, filename, "exec", dont_inherit=True)
    return _external._code_to_hash_pyc(code, importlib.util.source_hash(source), False)

def compile_stdlib(source_zip, target_zip):
    """A copy of the standard library's zip with each module as .pyc in place of its .py (zipimport's layout)."""
    compiled = 0
    with zipfile.ZipFile(source_zip) as zin, zipfile.ZipFile(target_zip, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".py"):
                try:
                    pyc = _pyc(data, source_zip + "/" + info.filename)
                except SyntaxError:
                    zout.writestr(info, data)
                    continue
                zout.writestr(info.filename + "c", pyc)
                compiled += 1
            else:
                zout.writestr(info, data)
    return compiled

def compile_tree(root, relative_paths):
    """{relative .pyc path in __pycache__: bytes} for each .py file under root, named as the page imports it."""
    out = {}
    tag = sys.implementation.cache_tag
    for relative in relative_paths:
        with open(root + "/" + relative, "rb") as handle:
            data = handle.read()
        folder, name = relative.rsplit("/", 1)
        out[f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"] = _pyc(data, root + "/" + relative)
    return out
`;

async function bootPyodide(web, stdLibURL) {
  const { loadPyodide } = await import(path.join(web, "node_modules", "pyodide", "pyodide.mjs"));
  const pyodide = await loadPyodide(stdLibURL ? { stdLibURL } : {});
  pyodide.runPython(COMPILER);
  return pyodide;
}

// Writes dist/pyodide/python_stdlib.zip compiled (cached in node_modules/.cache by the input's hash)
// and returns {path: base64 .pyc} for cnndsl's files, which the worker writes beside their sources.
export async function compileBytecode({ web, dist, files, siteRoot }) {
  const original = path.join(web, "node_modules", "pyodide", "python_stdlib.zip");
  const digest = crypto.createHash("sha256").update(fs.readFileSync(original)).digest("hex").slice(0, 16);
  const cacheDir = path.join(web, "node_modules", ".cache", "cnndsl-web");
  const cached = path.join(cacheDir, `python_stdlib-${digest}.zip`);
  const target = path.join(dist, "pyodide", "python_stdlib.zip");

  let pyodide;
  if (!fs.existsSync(cached)) {
    pyodide = await bootPyodide(web);
    const version = pyodide.runPython("import sys; '%d%d' % sys.version_info[:2]");
    pyodide.runPython(`compile_stdlib("/lib/python${version}.zip", "/tmp/stdlib.zip")`);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(cached + ".part", pyodide.FS.readFile("/tmp/stdlib.zip"));
    fs.renameSync(cached + ".part", cached);
  } else {
    pyodide = await bootPyodide(web, cached);
  }
  fs.copyFileSync(cached, target);

  const sources = Object.keys(files).filter((p) => p.endsWith(".py"));
  for (const relative of sources) {
    const full = `${siteRoot}/${relative}`;
    pyodide.FS.mkdirTree(full.slice(0, full.lastIndexOf("/")));
    pyodide.FS.writeFile(full, files[relative]);
  }
  pyodide.globals.set("_sources", pyodide.toPy(sources));
  const compiled = pyodide.runPython(`compile_tree(${JSON.stringify(siteRoot)}, _sources)`);
  const bytecode = {};
  for (const [relative, data] of Object.entries(compiled.toJs({ dict_converter: Object.fromEntries }))) {
    bytecode[relative] = Buffer.from(data).toString("base64");
  }
  compiled.destroy();
  return bytecode;
}
