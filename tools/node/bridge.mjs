// afcheck's bridge to arangojs: JSON lines on stdin, JSON lines on stdout.
//
// The first line configures the driver:
//   {"urls": [...], "username": "root", "password": "...", "setting": "default"|"failover",
//    "timeout_ms": 2000}
// and is answered {"ready": true, "version": "...", "hosts": [...]} (or {"fatal": "..."}).
// Every later line is one request, answered by one line with the same id, in any order
// (requests run concurrently, as an application's would):
//   {"id": 7, "method": "POST", "path": "/_db/shop/_api/document/c", "body": {...},
//    "params": {...}, "headers": {...}, "target": "http://..." | null}
//   -> {"id": 7, "status": 201, "body": {...}, "headers": {...}, "host": "http://..."}
//   -> {"id": 7, "error": {"class": "ArangoError", "code": 503, "errorNum": 1496,
//                          "message": "...", "safe": false, "cause": "ECONNREFUSED",
//                          "host": "http://..."}}
import { createInterface } from "node:readline";

const KEPT_HEADERS = ["x-arango-server-id", "x-arango-endpoint", "x-arango-potential-dirty-read"];

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function headersOf(res) {
  const out = {};
  if (res && res.headers && typeof res.headers.get === "function") {
    for (const name of KEPT_HEADERS) {
      const v = res.headers.get(name);
      if (v !== null) out[name] = v;
    }
  }
  return out;
}

// the first system-level code (ECONNREFUSED, ECONNRESET, UND_ERR_...) in the cause chain
function causeCode(err) {
  let e = err;
  for (let depth = 0; e && depth < 16; depth += 1) {
    if (typeof e.code === "string") return e.code;
    e = e.cause;
  }
  return null;
}

function describe(err) {
  const res = err && err.response;
  const out = {
    class: (err && err.name) || typeof err,
    message: String((err && err.message) || err).slice(0, 200),
    safe: err && typeof err.isSafeToRetry === "boolean" ? err.isSafeToRetry : null,
    cause: causeCode(err),
    host: (res && res.arangojsHostUrl) || (err && err.request && err.request.url) || null,
    headers: headersOf(res),
  };
  if (err && typeof err.code === "number") out.code = err.code;
  if (err && typeof err.errorNum === "number") out.errorNum = err.errorNum;
  if (res && res.parsedBody !== undefined) out.body = res.parsedBody;
  return out;
}

function splitDatabase(path) {
  if (path.startsWith("/_db/")) {
    const rest = path.slice("/_db/".length);
    const slash = rest.indexOf("/");
    const name = slash === -1 ? rest : rest.slice(0, slash);
    if (name) return [decodeURIComponent(name), slash === -1 ? "/" : rest.slice(slash)];
  }
  return ["_system", path];
}

async function main() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const iter = lines[Symbol.asyncIterator]();
  const first = await iter.next();
  if (first.done) return;
  let config;
  let arangojs;
  try {
    config = JSON.parse(first.value);
    arangojs = await import("arangojs");
  } catch (err) {
    send({ fatal: `cannot start: ${err && err.message ? err.message : err}` });
    process.exitCode = 3;
    return;
  }
  const failover = config.setting === "failover";
  const options = {
    url: config.urls,
    auth: { username: config.username, password: config.password },
    timeout: config.timeout_ms,
  };
  if (failover) options.maxRetries = 2 * config.urls.length;
  const system = new arangojs.Database(options);
  const databases = new Map([["_system", system]]);
  if (failover) {
    try {
      await system.acquireHostList();
    } catch (err) {
      send({ fatal: `acquireHostList failed: ${describe(err).message}` });
      process.exitCode = 3;
      return;
    }
  }
  const { readFileSync } = await import("node:fs");
  const pkgUrl = new URL("./node_modules/arangojs/package.json", import.meta.url);
  const version = JSON.parse(readFileSync(pkgUrl, "utf8")).version;
  send({ ready: true, version, hosts: system._connection._hostUrls ?? config.urls });

  const handle = async (msg) => {
    const [name, pathname] = splitDatabase(String(msg.path));
    let db = databases.get(name);
    if (!db) {
      db = system.database(name);
      databases.set(name, db);
    }
    const opts = { method: msg.method, pathname, timeout: config.timeout_ms };
    if (msg.body !== null && msg.body !== undefined) opts.body = msg.body;
    if (msg.params) opts.search = new URLSearchParams(msg.params);
    if (msg.headers) opts.headers = msg.headers;
    // a request for one server only; arangojs keeps its hosts as normalized URLs ("/" at the end)
    if (msg.target) opts.hostUrl = msg.target.endsWith("/") ? msg.target : `${msg.target}/`;
    try {
      const res = await db.request(opts, (r) => r);
      send({
        id: msg.id,
        status: res.status,
        body: res.parsedBody ?? null,
        headers: headersOf(res),
        host: res.arangojsHostUrl ?? null,
      });
    } catch (err) {
      send({ id: msg.id, error: describe(err) });
    }
  };
  for (;;) {
    const next = await iter.next();
    if (next.done) break;
    if (!next.value.trim()) continue;
    let msg;
    try {
      msg = JSON.parse(next.value);
    } catch (err) {
      send({ id: null, error: { class: "BadRequestLine", message: String(err.message) } });
      continue;
    }
    handle(msg);
  }
  system.close();
}

main().catch((err) => {
  send({ fatal: String((err && err.stack) || err) });
  process.exitCode = 3;
});
