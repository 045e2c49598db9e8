// The analysis worker: Pyodide with cnndsl's own sources, one Playground, one message at a time.
// Every request is {id, method, args}; every answer is {id, result} or {id, failure}.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const booted = (async () => {
  const started = performance.now();
  const [pyodide, files] = await Promise.all([
    loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href }),
    fetch(new URL("./python/files.json", import.meta.url)).then((r) => r.json()),
  ]);
  for (const [path, text] of Object.entries(files)) {
    pyodide.FS.mkdirTree("/cnndsl-site/" + path.slice(0, path.lastIndexOf("/")));
    pyodide.FS.writeFile("/cnndsl-site/" + path, text);
  }
  pyodide.runPython(`
import sys, json
sys.path.insert(0, "/cnndsl-site")
from cnndsl.tools.playground import Playground, vocabulary
_playground = Playground()
def _call(method, args_json):
    args = json.loads(args_json)
    if method == "vocabulary":
        return json.dumps(vocabulary())
    return json.dumps(getattr(_playground, method)(*args))
`);
  const call = pyodide.globals.get("_call");
  const vocabulary = JSON.parse(call("vocabulary", "[]"));
  postMessage({ booted: true, vocabulary, seconds: (performance.now() - started) / 1000 });
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
