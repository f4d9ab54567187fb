// Preload (node --import) that reports every module a process loads from Next or React,
// so a test can prove the CLI's fast paths never load the web stack.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\/node_modules\\/(next|react|react-dom)\\//.test(r.url)) process.stderr.write("LOADED " + r.url + "\\n");
  return r;
}`),
  import.meta.url,
);
