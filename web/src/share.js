// Share links: the model travels in the URL fragment as `#code=` + base64url of its UTF-8 text.
export const MAX_SHARE_BYTES = 1_000_000;

export function encodeShare(text) {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_SHARE_BYTES) return null;
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The values of a family's params travel after the text as `&set=NAME=VALUE` (URL-encoded), as `--set`.
export function encodeParams(params) {
  return Object.entries(params)
    .filter(([, value]) => String(value).trim() !== "")
    .map(([name, value]) => `&set=${encodeURIComponent(`${name}=${value}`)}`)
    .join("");
}

export function decodeParams(hash) {
  const params = {};
  for (const part of hash.split("&").slice(1)) {
    if (!part.startsWith("set=")) continue;
    let pair;
    try {
      pair = decodeURIComponent(part.slice(4));
    } catch {
      continue;
    }
    const at = pair.indexOf("=");
    if (at > 0) params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

// {text} for a #code= fragment, {text: null} for none, {text: null, error} for one that cannot be read.
export function decodeShare(hash) {
  const match = /^#code=([A-Za-z0-9_-]*={0,2})$/.exec(hash.split("&")[0]);
  if (!hash.startsWith("#code=")) return { text: null };
  if (!match) return { text: null, error: "The link's model is not base64url text; the example is shown instead." };
  const data = match[1].replace(/=+$/, "");
  if (data.length > Math.ceil((MAX_SHARE_BYTES * 4) / 3)) {
    return { text: null, error: "The link's model is longer than 1 MB; the example is shown instead." };
  }
  try {
    const binary = atob(data.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { text: null, error: "The link's model is not UTF-8 text in base64url; the example is shown instead." };
  }
}
