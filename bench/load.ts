// The benchmark's load: its own process, so the rollout under test never shares an event
// loop with the client that judges it. Open loop at a fixed rate (requests are sent on
// schedule whether or not earlier ones answered, as real users do), mixing keep-alive
// connections that outlive a backend, a fresh connection per request, and slow requests still
// in flight while their container drains. SIGTERM: stop sending, wait for what is in flight,
// write every sample to --out as JSON, exit.
//   node dist/bench/load.js --url http://127.0.0.1:19600 --rate 200 --out /tmp/x.json
import { writeFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import type { Sample } from "./stats.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    rate: { type: "string", default: "200" },
    out: { type: "string" },
    connections: { type: "string", default: "64" },
    "fresh-share": { type: "string", default: "0.3" },
    "slow-share": { type: "string", default: "0.03" },
    "slow-ms": { type: "string", default: "1000" },
    "timeout-ms": { type: "string", default: "10000" },
    "max-seconds": { type: "string", default: "900" },
  },
});
if (!values.url || !values.out) {
  process.stderr.write("load: needs --url and --out\n");
  process.exit(2);
}
const base = values.url;
const out = values.out;
const rate = Number(values.rate);
const freshShare = Number(values["fresh-share"]);
const slowShare = Number(values["slow-share"]);
const timeoutMs = Number(values["timeout-ms"]);

// Keep-alive and slow requests share a small pool of long-lived connections (several, as a
// browser or a reverse proxy in front would keep); fresh ones open and close each time.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number(values.connections) });
const samples: Sample[] = [];
let inFlight = 0;

function send(kind: Sample["k"]): void {
  const path = kind === "s" ? `/slow/?ms=${values["slow-ms"]}` : "/";
  const t = Date.now();
  const start = performance.now();
  inFlight++;
  let done = false;
  let deadline: NodeJS.Timeout | undefined;
  const finish = (s: number, body: string, e?: string) => {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    inFlight--;
    const x: Sample = { t, ms: Math.round((performance.now() - start) * 10) / 10, s, k: kind };
    const r = /"release":\s*"([^"]+)"/.exec(body)?.[1];
    if (r) x.r = r;
    if (e) x.e = e;
    samples.push(x);
  };
  const req = http.get(
    new URL(path, base),
    {
      agent: kind === "f" ? false : keepAlive,
      headers: kind === "f" ? { connection: "close" } : {},
    },
    (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        if (body.length < 512) body += d;
      });
      res.on("end", () => finish(res.statusCode ?? 0, body));
      res.on("error", (err: NodeJS.ErrnoException) => finish(0, "", err.code ?? err.message));
    },
  );
  // A deadline from the send, not the socket's idle timeout: a request queued behind busy
  // keep-alive connections has no socket yet, and its wait is the user's wait too.
  deadline = setTimeout(() => {
    finish(0, "", "ETIMEDOUT");
    req.destroy();
  }, timeoutMs);
  req.on("error", (err: NodeJS.ErrnoException) => finish(0, "", err.code ?? err.message));
}

// Every n-th request is slow or fresh, spread evenly (not random: runs stay comparable).
const kindOf = (i: number): Sample["k"] => {
  if (Math.floor((i + 1) * slowShare) > Math.floor(i * slowShare)) return "s";
  if (Math.floor((i + 1) * freshShare) > Math.floor(i * freshShare)) return "f";
  return "k";
};

const t0 = performance.now();
let issued = 0;
const tick = setInterval(() => {
  const due = Math.floor(((performance.now() - t0) / 1000) * rate);
  for (; issued < due; issued++) send(kindOf(issued));
}, 5);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(tick);
  const deadline = Date.now() + timeoutMs + 1000;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  samples.sort((a, b) => a.t - b.t);
  writeFileSync(out, JSON.stringify(samples));
  keepAlive.destroy();
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
setTimeout(() => void stop(), Number(values["max-seconds"]) * 1000).unref();
