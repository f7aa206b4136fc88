// The Traefik dynamic-configuration file compose-roll owns. Transforms are pure (YAML text
// in, YAML text out) and go through the `yaml` Document API so the user's comments and
// every key we don't manage survive each rewrite. The atomic writer lives in write.ts.
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, YAMLSeq } from "yaml";
import { RefusedError } from "../controller/errors.js";

export { checkWritable, ensureTempDir, readFileText, tempDirOf, writeFileAtomic } from "./write.js";

export const OWNED_MARK = "Owned by compose-roll";
const HEADER =
  ` ${OWNED_MARK}: it rewrites http.services.<name>.loadBalancer.servers on every rollout and\n` +
  ` adds a temporary "*-compose-roll-probe" router/service/middleware while verifying a server.\n` +
  ` Other keys and comments are kept. Traefik must watch this file's directory, not the file.`;

/**
 * Traefik rejects user routers above math.MaxInt - 1000 (pkg/server/router/router.go,
 * maxUserPriority); the exact maximum lets the probe beat any user router that also matches.
 * A BigInt because the value is beyond Number's exact range (2^53).
 */
export const PROBE_PRIORITY = 9223372036854774807n;
export const PROBE_HEADER = "X-Compose-Roll-Probe";

export interface ProbeSpec {
  /** The service being rolled; names the probe objects `<service>-compose-roll-probe`. */
  service: string;
  token: string;
  /** The only server of the probe service: the one being verified. */
  url: string;
  /** Entrypoints the probe router listens on; Traefik's defaults when omitted. */
  entryPoints?: string[];
  /** Attach the router to the TLS side of its entrypoints (probing over https). */
  tls?: boolean;
}

export const probeName = (service: string): string => `${service}-compose-roll-probe`;

type Path = (string | number)[];

function parse(text: string | undefined, file = "the Traefik file"): Document {
  const doc = parseDocument(text ?? "", { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]?.message.split("\n")[0] ?? "parse error";
    throw new RefusedError(`${file} is not valid YAML: ${first}`, `fix or remove ${file}, then retry`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new RefusedError(`${file} is not a YAML mapping`, "its top level must be `http:`");
  }
  return doc;
}

/** Checks each level of `path` is a mapping (or absent); returns the node at `path`. */
function mapAt(doc: Document, path: Path, file: string): YAMLMap | undefined {
  for (let i = 1; i <= path.length; i++) {
    const node = doc.getIn(path.slice(0, i), true);
    if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
    if (!isMap(node)) {
      throw new RefusedError(
        `${file}: ${path.slice(0, i).join(".")} is not a mapping`,
        `compose-roll expects http.services.<name>.loadBalancer; fix ${file}`,
      );
    }
  }
  return doc.getIn(path, true) as YAMLMap;
}

function lbPath(service: string): Path {
  return ["http", "services", service, "loadBalancer"];
}

/** The servers sequence of the service, validated; undefined when it has no `servers` key. */
function serversSeq(doc: Document, service: string, file: string): YAMLSeq | undefined {
  const path = [...lbPath(service), "servers"];
  const node = doc.getIn(path, true);
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isSeq(node)) throw new RefusedError(`${file}: ${path.join(".")} is not a list`);
  for (const item of node.items) {
    const url = isMap(item) ? item.get("url") : undefined;
    if (typeof url !== "string") {
      throw new RefusedError(`${file}: every entry of ${path.join(".")} needs a string url`);
    }
  }
  return node;
}

function requireService(doc: Document, service: string, file: string): YAMLMap {
  const lb = mapAt(doc, lbPath(service), file);
  if (lb === undefined) {
    throw new RefusedError(
      `${file} has no http.services.${service}.loadBalancer`,
      `run \`compose-roll sync\` to add service ${service} to it, or point --traefik-file at the right file`,
    );
  }
  return lb;
}

const isBlank = (doc: Document): boolean => doc.contents === null;

function withHeader(doc: Document): string {
  // A leading comment with no blank line after it parses as the first key's comment, so the
  // header written last time may sit in any of these.
  const first = isMap(doc.contents) ? doc.contents.items[0]?.key : undefined;
  const leading = [
    doc.commentBefore,
    doc.contents?.commentBefore,
    (first as { commentBefore?: string })?.commentBefore,
  ];
  const before = doc.commentBefore ?? "";
  if (!leading.some((c) => c?.includes(OWNED_MARK))) {
    doc.commentBefore = before ? `${HEADER}\n\n${before}` : HEADER;
  }
  // lineWidth 0: never fold long rules; a folded scalar is legal YAML but unreadable.
  return doc.toString({ lineWidth: 0 });
}

/**
 * Server URLs of `service`. A missing or blank file yields []; a file that exists but lacks
 * http.services.<service>.loadBalancer is refused (it is not the file we think it is).
 */
export function readServers(text: string | undefined, service: string, file?: string): string[] {
  const doc = parse(text, file);
  if (isBlank(doc)) return [];
  requireService(doc, service, file ?? "the Traefik file");
  return urlsOf(doc, service, file ?? "the Traefik file");
}

/** As readServers, but undefined when the file or the service's loadBalancer is not there. */
export function listServers(text: string | undefined, service: string, file?: string): string[] | undefined {
  const name = file ?? "the Traefik file";
  const doc = parse(text, name);
  if (isBlank(doc) || mapAt(doc, lbPath(service), name) === undefined) return undefined;
  return urlsOf(doc, service, name);
}

function urlsOf(doc: Document, service: string, file: string): string[] {
  const seq = serversSeq(doc, service, file);
  return seq ? seq.items.map((item) => String((item as YAMLMap).get("url"))) : [];
}

// Not `new URL()`: WHATWG reads an all-digit host as an IPv4 number ("000000001234" becomes
// 0.0.2.156, "123456789012" is refused), and a container's short ID is all digits in about
// one container of 280 ((10/16)^12). Traefik (Go) takes such a host as a name.
const SERVER_URL = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?(\/\S*)?$/;

function checkUrls(urls: string[]): string[] {
  const unique = [...new Set(urls)];
  for (const u of unique) {
    if (!/^https?:/.test(u)) throw new RefusedError(`server URL must be http(s): ${JSON.stringify(u)}`);
    if (!SERVER_URL.test(u)) throw new RefusedError(`not a server URL: ${JSON.stringify(u)}`);
  }
  return unique;
}

/**
 * Returns `text` with the servers of `service` set to exactly `urls` (in that order).
 * Entries whose URL stays keep their node (weight, comments); the rest of loadBalancer
 * (healthCheck, passHostHeader, sticky, ...) is untouched. A blank or missing file gets a
 * fresh service; so does a file without the service when `create` is set (sync adopting a
 * file), while a rollout refuses it as not the file it thinks it is. An empty list is
 * refused: Traefik would keep the service and answer 503 to everything, and a blank file
 * would be skipped as "empty provider config" leaving the OLD servers live; neither is ever
 * what the core means.
 */
export function setServers(
  text: string | undefined,
  service: string,
  urls: string[],
  file?: string,
  create = false,
): string {
  const name = file ?? "the Traefik file";
  const wanted = checkUrls(urls);
  if (wanted.length === 0) {
    throw new RefusedError(
      `refusing to write an empty server list for ${service}`,
      "stop the service's routers instead; compose-roll always keeps at least one server",
    );
  }
  const doc = parse(text, name);
  if (isBlank(doc)) {
    doc.contents = doc.createNode({ http: { services: { [service]: { loadBalancer: {} } } } }) as YAMLMap;
  } else if (create && mapAt(doc, lbPath(service), name) === undefined) {
    // Each missing (or empty, `services:`) level becomes a map; mapAt refused any other kind.
    const path = lbPath(service);
    for (let i = 1; i <= path.length; i++) {
      const node = doc.getIn(path.slice(0, i), true);
      if (node === undefined || (isScalar(node) && node.value === null))
        doc.setIn(path.slice(0, i), doc.createNode({}));
    }
  }
  const lb = requireService(doc, service, name);
  const seq = serversSeq(doc, service, name);
  const old = new Map<string, unknown>();
  for (const item of seq?.items ?? []) old.set(String((item as YAMLMap).get("url")), item);
  const items = wanted.map((u) => old.get(u) ?? doc.createNode({ url: u }));
  if (seq) seq.items = items;
  else {
    const fresh = new YAMLSeq();
    fresh.items = items;
    lb.set("servers", fresh);
  }
  return withHeader(doc);
}

/**
 * Sets each server's `weight` (Traefik's weighted round robin) to `weights[url]`, removing it
 * from servers `weights` does not name; with no `weights`, removes every server's weight. A
 * canary's share lives only for its bake: the write after it lists all servers equal again.
 */
export function weighServers(
  text: string,
  service: string,
  weights: Record<string, number> | undefined,
  file?: string,
): string {
  const name = file ?? "the Traefik file";
  const doc = parse(text, name);
  for (const item of serversSeq(doc, service, name)?.items ?? []) {
    const node = item as YAMLMap;
    const w = weights?.[String(node.get("url"))];
    if (w === undefined) node.delete("weight");
    else node.set("weight", Math.max(1, Math.round(w)));
  }
  return withHeader(doc);
}

/**
 * Adds (or replaces) the probe router, service and marker middleware for `spec.service`.
 * The probe service copies the real loadBalancer's transport settings (serversTransport,
 * passHostHeader, ...) so the probe takes the same path real traffic will, minus
 * healthCheck and sticky, which would only add noise to a one-server probe.
 */
export function addProbe(text: string | undefined, spec: ProbeSpec, file?: string): string {
  const name = file ?? "the Traefik file";
  checkUrls([spec.url]);
  const doc = parse(text, name);
  // No service yet (sync creating it): the probe gets Traefik's default transport.
  const lb = isBlank(doc) ? undefined : mapAt(doc, lbPath(spec.service), name);
  const probeLb: Record<string, unknown> = {};
  for (const pair of lb?.items ?? []) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (key === "servers" || key === "healthCheck" || key === "sticky") continue;
    probeLb[key] = (pair.value as { toJSON?: () => unknown })?.toJSON?.() ?? pair.value;
  }
  probeLb.servers = [{ url: spec.url }];
  const p = probeName(spec.service);
  const router: Record<string, unknown> = {
    rule: `Header(\`${PROBE_HEADER}\`, \`${spec.token}\`)`,
    priority: doc.createNode(PROBE_PRIORITY),
    service: p,
    middlewares: [p],
  };
  if (spec.entryPoints && spec.entryPoints.length > 0) router.entryPoints = spec.entryPoints;
  if (spec.tls) router.tls = {};
  // The marker header on the response proves it came through THIS router: Traefik's own
  // 404 and any other router's answer lack it.
  const middleware = { headers: { customResponseHeaders: { [PROBE_HEADER]: spec.token } } };
  if (isBlank(doc)) doc.contents = doc.createNode({}) as YAMLMap;
  for (const [kind, value] of [
    ["routers", router],
    ["middlewares", middleware],
    ["services", { loadBalancer: probeLb }],
  ] as const) {
    mapAt(doc, ["http", kind], name);
    doc.setIn(["http", kind, p], doc.createNode(value));
  }
  return withHeader(doc);
}

/** Removes the probe objects of `service` (idempotent); drops maps the removal left empty. */
export function removeProbe(text: string | undefined, service: string, file?: string): string {
  const doc = parse(text, file);
  if (isBlank(doc)) return text ?? "";
  const p = probeName(service);
  for (const kind of ["routers", "middlewares", "services"]) {
    const map = mapAt(doc, ["http", kind], file ?? "the Traefik file");
    if (!map?.has(p)) continue;
    map.delete(p);
    if (map.items.length === 0 && !map.commentBefore && !map.comment) doc.deleteIn(["http", kind]);
  }
  return withHeader(doc);
}

export function hasProbe(text: string | undefined, service: string): boolean {
  const doc = parse(text);
  const p = probeName(service);
  return ["routers", "middlewares", "services"].some((kind) => doc.hasIn(["http", kind, p]));
}
