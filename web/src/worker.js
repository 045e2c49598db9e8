// The analysis worker: Pyodide with cnndsl's own sources, one Playground, one message at a time.
// Every request is {id, method, args}; every answer is {id, result} or {id, failure}.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const booted = (async () => {
  const started = performance.now();
  const phases = {};
  const lap = (name, since) => (phases[name] = (performance.now() - since) / 1000);
  const [pyodide, files] = await Promise.all([
    loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href }).then((p) => (lap("pyodide", started), p)),
    fetch(new URL("./python/files.json", import.meta.url)).then((r) => r.json()),
  ]);
  const importing = performance.now();
  const write = (relative, data) => {
    const full = `${files.root}/${relative}`;
    pyodide.FS.mkdirTree(full.slice(0, full.lastIndexOf("/")));
    pyodide.FS.writeFile(full, data);
  };
  for (const [relative, text] of Object.entries(files.sources)) write(relative, text);
  // the build's .pyc files: importing cnndsl then skips compiling its sources
  for (const [relative, base64] of Object.entries(files.bytecode)) write(relative, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  pyodide.runPython(`
import sys, json
sys.path.insert(0, ${JSON.stringify(files.root)})
from cnndsl.tools.playground import Playground, vocabulary
_playground = Playground()
def _call(method, args_json):
    args = json.loads(args_json)
    if method == "vocabulary":
        return json.dumps(vocabulary())
    return json.dumps(getattr(_playground, method)(*args))
`);
  lap("cnndsl", importing);
  const call = pyodide.globals.get("_call");
  const vocabulary = JSON.parse(call("vocabulary", "[]"));
  postMessage({ booted: true, vocabulary, phases, seconds: (performance.now() - started) / 1000 });
  return call;
})();

booted.catch((error) => postMessage({ booted: false, failure: String(error && error.message || error) }));

const METHODS = new Set(["analyse", "hover", "explain", "layer_at", "emit", "diagram", "completions"]);

onmessage = async (event) => {
  const { id, method, args } = event.data;
  try {
    const call = await booted;
    if (!METHODS.has(method)) throw new Error(`no method ${method}`);
    const started = performance.now();
    const result = JSON.parse(call(method, JSON.stringify(args)));
    postMessage({ id, result, ms: performance.now() - started });
  } catch (error) {
    postMessage({ id, failure: String(error && error.message || error) });
  }
};
