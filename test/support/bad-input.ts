// The bad-input table: each case is a command a user might type against a running demo
// stack, which compose-roll must refuse with exit 2, one `compose-roll:` line naming the
// input (and one `what to do:` line with the fix), changing nothing. test/e2e/bad-input
// runs them; docs/bad-input.md is generated from this table and what the runs printed.

/** Where a case runs: the stack's files and names, and the marker a shell would create. */
export interface CaseContext {
  /** The stack's project directory (its compose.yaml). */
  dir: string;
  project: string;
  /** Extra compose files (fixtures.yaml's entries), written into `<dir>/fixtures/`. */
  fx: (name: keyof typeof FIXTURES) => string;
  /** -p, --traefik-file, --traefik-api, --traefik-url for the stack. */
  stack: string[];
  /** A file no command may create: hostile strings try to `touch` it through a shell. */
  marker: string;
  /** A directory with no compose file in it or above. */
  empty: string;
}

export interface BadInput {
  group: string;
  /** What is wrong, as the docs list it. */
  name: string;
  args: (c: CaseContext) => string[];
  env?: (c: CaseContext) => Record<string, string>;
  /** Run from the empty directory instead of the stack's. */
  fromEmpty?: true;
  /** The error line must match: it names the input. */
  names: RegExp;
  /** The error line or the `what to do:` line must match: it says the fix. */
  fix: RegExp;
}

/** Compose files a case adds with -f after the stack's own. `$MARKER` becomes the marker path. */
export const FIXTURES = {
  // One replica: with more, compose itself refuses container_name first.
  "container-name": "services:\n  web:\n    container_name: fixed-web\n    deploy:\n      replicas: 1\n",
  "host-port": 'services:\n  web:\n    ports: ["127.0.0.1:19399:8000"]\n',
  "host-network": "services:\n  web:\n    network_mode: host\n",
  syntax: "services:\n  web:\n    image: [unclosed\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR} syntax, not a template
  interpolation: "services:\n  web:\n    image: ${CR_E2E_UNSET_TAG:?set CR_E2E_UNSET_TAG to the tag}\n",
  "unknown-key": "services:\n  web:\n    x-compose-roll:\n      drian: 5s\n",
  "wrong-type": "services:\n  web:\n    x-compose-roll:\n      drain: [5s]\n",
  "not-a-mapping": "x-compose-roll: 5\n",
  "empty-value": 'services:\n  web:\n    x-compose-roll:\n      traefik-file: ""\n',
  "port-range": "services:\n  web:\n    x-compose-roll:\n      port: 70000\n",
  "huge-history": "x-compose-roll:\n  history-limit: 1000000000\n",
  "hostile-setting": 'services:\n  web:\n    x-compose-roll:\n      traefik-service: "$(touch $MARKER)"\n',
  "hostile-hook": 'services:\n  web:\n    x-compose-roll:\n      pre-deploy: ["touch $MARKER", 1]\n',
  // Deploy hooks and checks (issue 11).
  "hook-shell":
    'services:\n  web:\n    x-compose-roll:\n      pre-deploy: "python3 manage.py migrate && touch $MARKER"\n',
  "hook-two-lines":
    "services:\n  web:\n    x-compose-roll:\n      pre-deploy: |\n        python3 manage.py migrate\n        touch $MARKER\n",
  "hook-empty-program":
    'services:\n  web:\n    x-compose-roll:\n      post-deploy: ["", "manage.py", "clearsessions"]\n',
  "hook-empty-list": "services:\n  web:\n    x-compose-roll:\n      pre-deploy: []\n",
  "gate-number": "services:\n  web:\n    x-compose-roll:\n      migration-gate: 1\n",
  "allow-breaking-string": 'x-compose-roll:\n  allow-breaking: "yes"\n',
  "smoke-mapping": "services:\n  web:\n    x-compose-roll:\n      smoke: {}\n",
  "smoke-empty-item": 'services:\n  web:\n    x-compose-roll:\n      smoke: ["/=release", ""]\n',
  "warmup-count": "services:\n  web:\n    x-compose-roll:\n      warmup: [/visitsx0]\n",
  "hook-timeout-bool": "x-compose-roll:\n  post-deploy-timeout: true\n",
  "check-host-crlf":
    'services:\n  web:\n    x-compose-roll:\n      check-host: "shop.example.com\\r\\nX-Forwarded-For: 1.2.3.4"\n',
  // A release (compose-roll up).
  "release-failure-action":
    "services:\n  web:\n    deploy:\n      update_config:\n        failure_action: retry\n",
  "release-stop-first": "services:\n  web:\n    deploy:\n      update_config:\n        order: stop-first\n",
  "release-policy": "services:\n  web:\n    x-compose-roll:\n      policy: worker\n",
  "release-stateful":
    "services:\n  cache:\n    image: compose-roll-demo/app:v1\n    x-compose-roll:\n      policy: skip\n",
} as const;

const IMG = "compose-roll-demo/app:v3";
const roll = (c: CaseContext, ...more: string[]) => ["web", "--image", IMG, ...c.stack, ...more];
const up = (c: CaseContext, f: keyof typeof FIXTURES, ...more: string[]) => [
  "up",
  ...more,
  ...c.stack,
  "-f",
  "compose.yaml",
  "-f",
  c.fx(f),
];
const withFile = (c: CaseContext, f: keyof typeof FIXTURES) => [
  "web",
  "--image",
  IMG,
  ...c.stack,
  "-f",
  "compose.yaml",
  "-f",
  c.fx(f),
];

// biome-ignore format: one case per line reads as the table it is
export const CASES: BadInput[] = [
  // Image references
  { group: "image", name: "malformed image reference (uppercase)", args: (c) => ["web", "--image", "Shop/Web:v2", ...c.stack], names: /--image: "Shop\/Web:v2"/, fix: /lowercase/ },
  { group: "image", name: "empty image reference", args: (c) => ["web", "--image", "", ...c.stack], names: /--image: ""/, fix: /name\[:tag\]/ },
  { group: "image", name: "tag without a name", args: (c) => ["web", "--image", ":v2", ...c.stack], names: /--image: ":v2"/, fix: /name\[:tag\]/ },
  { group: "image", name: "image name over 255 characters", args: (c) => ["web", "--image", `${"a".repeat(256)}:v1`, ...c.stack], names: /--image: "a{256}:v1"/, fix: /registry/ },
  { group: "image", name: "image missing on the host with --pull never", args: (c) => roll(c, "--pull", "never").map((a) => (a === IMG ? "compose-roll-demo/app:nosuch" : a)), names: /compose-roll-demo\/app:nosuch is not on the Docker host/, fix: /pull or build it/ },
  { group: "image", name: "image in a registry that does not answer", args: (c) => ["web", "--image", "127.0.0.1:19398/shop/web:v2", "--json", ...c.stack], names: /cannot pull 127\.0\.0\.1:19398\/shop\/web:v2/, fix: /registry runs/ },
  { group: "image", name: "unknown pull policy", args: (c) => roll(c, "--pull", "sometimes"), names: /--pull: "sometimes"/, fix: /missing.*always.*never/ },
  // Hostile strings: refused as values, and nothing of them reaches a shell.
  { group: "hostile", name: "command substitution as the image", args: (c) => ["web", "--image", `$(touch ${c.marker})`, ...c.stack], names: /--image: "\$\(touch /, fix: /name\[:tag\]/ },
  { group: "hostile", name: "`;` in the image", args: (c) => ["web", "--image", `app:v2;touch ${c.marker}`, ...c.stack], names: /--image: "app:v2;touch /, fix: /name\[:tag\]/ },
  { group: "hostile", name: "backticks in the image", args: (c) => ["web", "--image", `app:\`touch ${c.marker}\``, ...c.stack], names: /--image: "app:`touch /, fix: /name\[:tag\]/ },
  { group: "hostile", name: "newline in the image", args: (c) => ["web", "--image", `app:v2\ntouch ${c.marker}`, ...c.stack], names: /--image: "app:v2\\ntouch /, fix: /name\[:tag\]/ },
  { group: "hostile", name: "drain hook given for a file-mode service", args: (c) => roll(c, "--drain-command", `sh -c "touch ${c.marker}"`), names: /--drain-command applies to label mode only/, fix: /drop --drain-command/ },
  { group: "hostile", name: "command substitution as the project", args: (c) => ["web", "--image", IMG, ...c.stack.slice(2), "-p", `$(touch ${c.marker})`], names: /-p\/--project-name: "\$\(touch /, fix: /lowercase letters/ },
  { group: "hostile", name: "`;` in the Traefik service name", args: (c) => roll(c, "--traefik-service", `web;touch ${c.marker}`), names: /--traefik-service: "web;touch /, fix: /as Traefik's file does/ },
  { group: "hostile", name: "command substitution as the network", args: (c) => roll(c, "--network", `$(touch ${c.marker})`), names: /--network: "\$\(touch /, fix: /docker network ls/ },
  { group: "hostile", name: "command substitution in x-compose-roll", args: (c) => withFile(c, "hostile-setting"), names: /x-compose-roll\.traefik-service of service web .*"\$\(touch /, fix: /as Traefik's file does/ },
  { group: "hostile", name: "hook list with a non-string", args: (c) => withFile(c, "hostile-hook"), names: /x-compose-roll\.pre-deploy of service web/, fix: /expected a command/ },
  { group: "hostile", name: "header injection (CRLF) as the check host", args: (c) => roll(c, "--check-host", "shop.example.com\r\nX-Forwarded-For: 1.2.3.4"), names: /--check-host: "shop\.example\.com\\r\\nX-Forwarded-For: 1\.2\.3\.4" is not a host name/, fix: /shop\.example\.com/ },
  { group: "hostile", name: "header injection (CRLF) as the x-compose-roll check host", args: (c) => withFile(c, "check-host-crlf"), names: /x-compose-roll\.check-host of service web .*"shop\.example\.com\\r\\nX-Forwarded-For: 1\.2\.3\.4" is not a host name/, fix: /shop\.example\.com/ },
  // Services and projects
  { group: "service", name: "unknown service", args: (c) => ["nosuch", "--image", IMG, ...c.stack], names: /no service "nosuch" .*services: traefik, web/, fix: /--profile/ },
  { group: "service", name: "invalid service name", args: (c) => ["web/api", "--image", IMG, ...c.stack], names: /"web\/api" is not a valid compose service name/, fix: /config --services/ },
  { group: "service", name: "unknown project", fromEmpty: true, args: () => ["undo", "-p", "cr-e2e-no-such-project"], names: /no rollout of project cr-e2e-no-such-project/, fix: /name the service/ },
  { group: "service", name: "service with container_name", args: (c) => withFile(c, "container-name"), names: /sets container_name: fixed-web/, fix: /remove container_name/ },
  { group: "service", name: "service publishing a fixed host port", args: (c) => withFile(c, "host-port"), names: /publishes fixed host port\(s\) 127\.0\.0\.1:19399:8000/, fix: /route through Traefik/ },
  { group: "service", name: "service with network_mode: host", args: (c) => withFile(c, "host-network"), names: /network_mode: host/, fix: /remove network_mode/ },
  // Compose files
  { group: "compose", name: "YAML syntax error", args: (c) => withFile(c, "syntax"), names: /docker compose config.*yaml: line \d+/, fix: /fix the compose files/ },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR} syntax, not a template
  { group: "compose", name: "interpolation error (${VAR:?})", args: (c) => withFile(c, "interpolation"), names: /CR_E2E_UNSET_TAG/, fix: /fix the compose files or the variables/ },
  { group: "compose", name: "compose file that does not exist", args: (c) => ["web", "--image", IMG, ...c.stack, "-f", "nosuch.yaml"], names: /compose file not found: .*nosuch\.yaml/, fix: /check -f/ },
  // Durations, numbers, ports
  { group: "values", name: "invalid duration", args: (c) => roll(c, "--drain", "5 seconds"), names: /--drain: "5 seconds" is not a duration/, fix: /90s/ },
  { group: "values", name: "empty duration", args: (c) => roll(c, "--wait", ""), names: /--wait: "" is not a duration/, fix: /90s/ },
  { group: "values", name: "zero health timeout", args: (c) => roll(c, "--health-timeout", "0"), names: /--health-timeout: "0" is too short/, fix: /at least 1s/ },
  { group: "values", name: "port out of range", args: (c) => roll(c, "--port", "70000"), names: /--port: "70000"/, fix: /container port/ },
  { group: "values", name: "port in hex", args: (c) => roll(c, "--port", "0x1f40"), names: /--port: "0x1f40"/, fix: /container port/ },
  { group: "values", name: "probe path without a leading /", args: (c) => roll(c, "--probe-path", "healthz"), names: /--probe-path: "healthz"/, fix: /starting with \// },
  // Absurdly large values
  { group: "absurd", name: "duration of years", args: (c) => roll(c, "--route-timeout", "99999h"), names: /--route-timeout: "99999h" is longer than 24 days/, fix: /shorter/ },
  { group: "absurd", name: "bare seconds beyond 24 days", args: (c) => roll(c, "--wait", "100000000"), names: /--wait: "100000000"/, fix: /shorter/ },
  { group: "absurd", name: "surge of a million containers", args: (c) => roll(c, "--max-surge", "1000000"), names: /--max-surge: "1000000"/, fix: /side by side/ },
  { group: "absurd", name: "history limit of a billion (x-compose-roll)", args: (c) => withFile(c, "huge-history"), names: /top-level x-compose-roll\.history-limit .*"1000000000"/, fix: /keep 10/ },
  // Traefik
  { group: "traefik", name: "Traefik file in a missing directory", args: (c) => roll(c, "--traefik-file", `${c.dir}/no-such-dir/web.yml`), names: /directory of the Traefik file does not exist: .*no-such-dir/, fix: /create .*no-such-dir/ },
  { group: "traefik", name: "Traefik file that is not YAML", args: (c) => roll(c, "--traefik-file", "dynamic/web.json"), names: /--traefik-file: .*web\.json must end in \.yml/, fix: /\.yml file/ },
  { group: "traefik", name: "malformed Traefik API URL", args: (c) => roll(c, "--traefik-api", "http//127.0.0.1:8080"), names: /--traefik-api: "http\/\/127\.0\.0\.1:8080" is not an http\(s\) URL/, fix: /http:\/\/127\.0\.0\.1:8080/ },
  { group: "traefik", name: "Traefik API that is not http(s)", args: (c) => roll(c, "--traefik-api", "ftp://127.0.0.1"), names: /--traefik-api: "ftp:\/\/127\.0\.0\.1"/, fix: /http:\/\// },
  // Settings
  { group: "settings", name: "-H and --context together", args: (c) => roll(c, "-H", "unix:///var/run/docker.sock", "--context", "prod"), names: /both -H\/--host and --context/, fix: /give one of them/ },
  { group: "settings", name: "no --image, and no compose file to name the image", fromEmpty: true, args: (c) => ["web", ...c.stack], names: /no compose file here says which image web should run, and no --image was given/, fix: /pass --image <ref>/ },
  { group: "settings", name: "misspelt COMPOSE_ROLL_ variable", args: (c) => roll(c), env: () => ({ COMPOSE_ROLL_DRIAN: "5s" }), names: /COMPOSE_ROLL_DRIAN is not a compose-roll setting/, fix: /COMPOSE_ROLL_DRAIN/ },
  { group: "settings", name: "bad COMPOSE_ROLL_ value", args: (c) => roll(c), env: () => ({ COMPOSE_ROLL_WRITE: "maybe" }), names: /COMPOSE_ROLL_WRITE: "maybe"/, fix: /COMPOSE_ROLL_WRITE=false/ },
  { group: "settings", name: "unknown x-compose-roll key", args: (c) => withFile(c, "unknown-key"), names: /x-compose-roll of service web .*unknown key "drian"/, fix: /did you mean "drain"/ },
  { group: "settings", name: "x-compose-roll value of the wrong type", args: (c) => withFile(c, "wrong-type"), names: /x-compose-roll\.drain of service web/, fix: /expected a duration/ },
  { group: "settings", name: "x-compose-roll that is not a mapping", args: (c) => withFile(c, "not-a-mapping"), names: /top-level x-compose-roll .*must be a mapping/, fix: /key: value/ },
  { group: "settings", name: "empty x-compose-roll value", args: (c) => withFile(c, "empty-value"), names: /x-compose-roll\.traefik-file of service web/, fix: /must not be empty/ },
  { group: "settings", name: "x-compose-roll port out of range", args: (c) => withFile(c, "port-range"), names: /x-compose-roll\.port of service web .*"70000"/, fix: /container port/ },
  // Deploy hooks: split like compose's `command:`, never given to a shell.
  { group: "hooks", name: "`&&` in a hook", args: (c) => roll(c, "--pre-deploy", `python3 manage.py migrate && touch ${c.marker}`), names: /--pre-deploy: "python3 manage\.py migrate && touch .*" has shell syntax "&&"/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "`;` in a hook", args: (c) => roll(c, "--post-deploy", `python3 manage.py clearsessions; touch ${c.marker}`), names: /--post-deploy: "python3 manage\.py clearsessions; touch .*" has shell syntax ";"/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "command substitution in a hook", args: (c) => roll(c, "--pre-deploy", `echo $(touch ${c.marker})`), names: /--pre-deploy: "echo \$\(touch .*" has shell syntax "\$\("/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "backticks in a hook", args: (c) => roll(c, "--pre-deploy", `echo \`touch ${c.marker}\``), names: /--pre-deploy: "echo `touch .*" has shell syntax "`"/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "redirection in a hook", args: (c) => roll(c, "--pre-deploy", `python3 manage.py migrate > ${c.marker}`), names: /--pre-deploy: "python3 manage\.py migrate > .*" has shell syntax ">"/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "unclosed quote in a hook", args: (c) => roll(c, "--pre-deploy", `python3 manage.py migrate --database 'replica`), names: /--pre-deploy: "python3 manage\.py migrate --database 'replica" has an unclosed '/, fix: /write the command as words/ },
  { group: "hooks", name: "hook ending in a lone backslash", args: (c) => roll(c, "--pre-deploy", "python3 manage.py migrate \\"), names: /--pre-deploy: ".*migrate \\\\" ends in a lone backslash/, fix: /write the command as words/ },
  { group: "hooks", name: "empty hook", args: (c) => roll(c, "--pre-deploy", ""), names: /--pre-deploy: "" is empty/, fix: /write the command as words/ },
  { group: "hooks", name: "hook of blanks only", args: (c) => roll(c, "--post-deploy", "   "), names: /--post-deploy: " {3}" is empty/, fix: /write the command as words/ },
  { group: "hooks", name: "two commands on two lines of a hook", args: (c) => roll(c, "--pre-deploy", `python3 manage.py migrate\ntouch ${c.marker}`), names: /--pre-deploy: "python3 manage\.py migrate\\ntouch .*" has a line break between words/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "`&&` in an x-compose-roll hook", args: (c) => withFile(c, "hook-shell"), names: /x-compose-roll\.pre-deploy of service web .*"python3 manage\.py migrate && touch .*" has shell syntax/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "x-compose-roll hook as a `|` block of two commands", args: (c) => withFile(c, "hook-two-lines"), names: /x-compose-roll\.pre-deploy of service web .* has a line break between words/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "x-compose-roll hook list with an empty program", args: (c) => withFile(c, "hook-empty-program"), names: /x-compose-roll\.post-deploy of service web .*\["","manage\.py","clearsessions"\] is not a command: its program \(the first word\) is empty/, fix: /program first/ },
  { group: "hooks", name: "x-compose-roll hook that is an empty list", args: (c) => withFile(c, "hook-empty-list"), names: /x-compose-roll\.pre-deploy of service web .*\[\] is not a command: the list is empty/, fix: /program first/ },
  { group: "hooks", name: "hostile COMPOSE_ROLL_PRE_DEPLOY", args: (c) => roll(c), env: (c) => ({ COMPOSE_ROLL_PRE_DEPLOY: `migrate | sh -c "touch ${c.marker}"` }), names: /COMPOSE_ROLL_PRE_DEPLOY: "migrate \| sh .*" has shell syntax "\|"/, fix: /"sh", "-c"/ },
  { group: "hooks", name: "zero pre-deploy timeout", args: (c) => roll(c, "--pre-deploy-timeout", "0"), names: /--pre-deploy-timeout: "0" is too short/, fix: /at least 1s/ },
  { group: "hooks", name: "pre-deploy timeout that is not a duration", args: (c) => roll(c, "--pre-deploy-timeout", "abc"), names: /--pre-deploy-timeout: "abc" is not a duration/, fix: /90s/ },
  { group: "hooks", name: "post-deploy timeout of years", args: (c) => roll(c, "--post-deploy-timeout", "99999h"), names: /--post-deploy-timeout: "99999h" is longer than 24 days/, fix: /shorter/ },
  { group: "hooks", name: "x-compose-roll hook timeout of the wrong type", args: (c) => withFile(c, "hook-timeout-bool"), names: /top-level x-compose-roll\.post-deploy-timeout .*got true/, fix: /expected a duration/ },
  // Migration gate
  { group: "gate", name: "unknown migration gate mode", args: (c) => roll(c, "--migration-gate", "maybe"), names: /--migration-gate: "maybe" is not a gate mode/, fix: /off, warn, refuse/ },
  { group: "gate", name: "migration gate mode in capitals", args: (c) => roll(c, "--migration-gate", "REFUSE"), names: /--migration-gate: "REFUSE" is not a gate mode/, fix: /off, warn, refuse/ },
  { group: "gate", name: "x-compose-roll migration gate that is a number", args: (c) => withFile(c, "gate-number"), names: /x-compose-roll\.migration-gate of service web .*got 1$/, fix: /one of off, warn, refuse/ },
  { group: "gate", name: "bad COMPOSE_ROLL_MIGRATION_GATE", args: (c) => roll(c), env: () => ({ COMPOSE_ROLL_MIGRATION_GATE: "nope" }), names: /COMPOSE_ROLL_MIGRATION_GATE: .*got "nope"/, fix: /one of off, warn, refuse/ },
  { group: "gate", name: "x-compose-roll allow-breaking as a string", args: (c) => withFile(c, "allow-breaking-string"), names: /top-level x-compose-roll\.allow-breaking .*got "yes"/, fix: /expected true or false/ },
  { group: "gate", name: "bad COMPOSE_ROLL_ALLOW_BREAKING", args: (c) => roll(c), env: () => ({ COMPOSE_ROLL_ALLOW_BREAKING: "perhaps" }), names: /COMPOSE_ROLL_ALLOW_BREAKING: "perhaps" must be true or false/, fix: /COMPOSE_ROLL_ALLOW_BREAKING=false/ },
  // Warm-up and smoke checks
  { group: "checks", name: "warm-up path without a leading /", args: (c) => roll(c, "--warmup", "visits"), names: /--warmup: "visits" does not start with a URL path/, fix: /starting with \// },
  { group: "checks", name: "warm-up of zero requests", args: (c) => roll(c, "--warmup", "/x0"), names: /--warmup: "\/x0" asks for 0 requests/, fix: /\/x10/ },
  { group: "checks", name: "warm-up of 100000 requests", args: (c) => roll(c, "--warmup", "/x100000"), names: /--warmup: "\/x100000" asks for 100000 requests; the count must be from 1 to 1000/, fix: /\/x10/ },
  { group: "checks", name: "warm-up path with a blank", args: (c) => roll(c, "--warmup", "/visits", "--warmup", "/my visits"), names: /--warmup: "\/my visits" does not start with a URL path/, fix: /percent-encode/ },
  { group: "checks", name: "x-compose-roll warm-up of zero requests", args: (c) => withFile(c, "warmup-count"), names: /x-compose-roll\.warmup of service web .*"\/visitsx0" asks for 0 requests/, fix: /\/visitsx10/ },
  { group: "checks", name: "smoke check without =", args: (c) => roll(c, "--smoke", "/version"), names: /--smoke: "\/version" has no "="/, fix: /\/version=v2/ },
  { group: "checks", name: "smoke check with nothing to look for", args: (c) => roll(c, "--smoke", "/="), names: /--smoke: "\/=" has nothing after "="/, fix: /\/version=v2/ },
  { group: "checks", name: "smoke check without a path", args: (c) => roll(c, "--smoke", "=v2"), names: /--smoke: "=v2" does not start with a URL path/, fix: /\/version=v2/ },
  { group: "checks", name: "bad COMPOSE_ROLL_SMOKE", args: (c) => roll(c), env: () => ({ COMPOSE_ROLL_SMOKE: "version" }), names: /COMPOSE_ROLL_SMOKE: "version" has no "="/, fix: /\/version=v2/ },
  { group: "checks", name: "x-compose-roll smoke that is a mapping", args: (c) => withFile(c, "smoke-mapping"), names: /x-compose-roll\.smoke of service web .*got a mapping/, fix: /a string or a list of strings/ },
  { group: "checks", name: "x-compose-roll smoke list with an empty item", args: (c) => withFile(c, "smoke-empty-item"), names: /x-compose-roll\.smoke of service web .*item 2 of the list must not be empty, got ""/, fix: /--smoke takes it/ },
  { group: "checks", name: "check host with a blank", args: (c) => roll(c, "--check-host", "a b"), names: /--check-host: "a b" is not a host name/, fix: /shop\.example\.com/ },
  { group: "checks", name: "check host with a port out of range", args: (c) => roll(c, "--check-host", "shop.example.com:99999"), names: /--check-host: "shop\.example\.com:99999" is not a host name/, fix: /shop\.example\.com/ },
  { group: "checks", name: "check host with an empty label", args: (c) => roll(c, "--check-host", "shop..example.com"), names: /--check-host: "shop\.\.example\.com" is not a host name/, fix: /shop\.example\.com/ },
  // Usage
  { group: "usage", name: "unknown option", args: (c) => roll(c, "--frobnicate"), names: /unknown option '--frobnicate'/, fix: /--help/ },
  { group: "usage", name: "unknown subcommand", args: () => ["lock", "frobnicate"], names: /unknown command 'frobnicate'/, fix: /--help/ },
  { group: "usage", name: "missing argument", args: () => ["sync"], names: /missing required argument 'service'/, fix: /--help/ },
  { group: "usage", name: "option of another command", args: (c) => roll(c, "--to-revision", "1"), names: /unknown option '--to-revision'/, fix: /--help/ },
  // Revisions
  { group: "revision", name: "revision that does not exist", args: (c) => ["undo", "web", ...c.stack, "--to-revision", "99"], names: /--to-revision: no revision 99 in the history \(kept: \d/, fix: /compose-roll history/ },
  { group: "revision", name: "revision that is not a number", args: (c) => ["undo", "web", ...c.stack, "--to-revision", "latest"], names: /--to-revision: "latest"/, fix: /compose-roll history/ },
  // Replica counts
  { group: "scale", name: "scale to zero", args: (c) => roll(c, "--scale", "web=0"), names: /--scale: "web=0" is not SERVICE=N with N at least 1/, fix: /--scale web=5/ },
  { group: "scale", name: "scale of another service", args: (c) => roll(c, "--scale", "traefik=2"), names: /--scale traefik=2: this command rolls web, not traefik/, fix: /--scale web=<n>/ },
  // A release (compose-roll up)
  { group: "release", name: "up with a service not in the project", args: (c) => ["up", "wrker", ...c.stack], names: /no service "wrker" in .*compose\.yaml.* \(services: .*web/, fix: /name one of those services/ },
  { group: "release", name: "up --image with two services", args: (c) => ["up", "web", "traefik", "--image", IMG, ...c.stack], names: /--image compose-roll-demo\/app:v3 names one image, but 2 services were given/, fix: /exactly one service/ },
  { group: "release", name: "unknown update_config.failure_action", args: (c) => up(c, "release-failure-action"), names: /service web: deploy\.update_config\.failure_action/, fix: /failure_action rollback\|pause\|continue/ },
  { group: "release", name: "order: stop-first on a routed service", args: (c) => up(c, "release-stop-first"), names: /service web is routed by Traefik but sets deploy\.update_config\.order: stop-first/, fix: /remove order: stop-first/ },
  { group: "release", name: "unknown x-compose-roll policy", args: (c) => up(c, "release-policy"), names: /service web: x-compose-roll\.policy: .*got "worker"/, fix: /routed\|unrouted\|singleton\|stateful/ },
  { group: "release", name: "a stateful service named without --force", args: (c) => up(c, "release-stateful", "cache"), names: /cache is stateful \(x-compose-roll policy\): compose-roll up does not recreate it/, fix: /--force/ },
];
