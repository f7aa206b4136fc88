// The bake as a rollout runs it: after a new replica is routed, sample Traefik's access log
// once a second, judge the new replicas against the old ones in the same seconds
// (controller/bake.ts), and stop at the first breach (the rollout then restores) or when the
// bake's time is up.
import {
  type Figures,
  figuresOf,
  judge,
  type Thresholds,
  type Verdict,
  windowOf,
} from "../controller/bake.js";
import { BakeError, RefusedError } from "../controller/errors.js";
import type { Clock, Reporter, Traffic, TrafficFeed } from "../controller/ports.js";
import type { RolloutRequest } from "../controller/rollout.js";

export interface BakeSettings extends Thresholds {
  bakeMs: number;
  /** How often the figures are judged; the verdict comes within the bake plus one of these. */
  intervalMs: number;
}

/** How often a bake in progress reports its figures so far. */
const REPORT_EVERY_MS = 10_000;

/** Refuses (exit 2, before anything changes) when Traefik's access log cannot be read. */
export async function refuseUnbaked(traffic: Traffic | undefined): Promise<void> {
  const why = traffic
    ? await traffic.unavailable(new AbortController().signal)
    : "--bake: no access log to read";
  if (why) throw new RefusedError(why, "or roll without --bake (`--bake 0s`)");
}

/** The RolloutRequest's bake: watches each new replica for `bakeMs` against the old ones. */
export function bakeStep(
  feed: TrafficFeed,
  s: BakeSettings,
  deps: { clock: Clock; reporter: Reporter },
): NonNullable<RolloutRequest["bake"]> {
  return async ({ replica, fresh, old }, signal) => {
    const { clock, reporter } = deps;
    const names = {
      fresh: `${fresh.length > 1 ? `${fresh.length} new replicas, the latest ${replica.name}` : replica.name} (${replica.imageRef})`,
      oldImage: old[0]?.imageRef ?? "the old image",
    };
    const urls = (rs: typeof fresh) => rs.map((r) => r.url as string);
    const t0 = clock.now();
    let reported = t0;
    // A 5xx rate can stop the bake the moment it is clear; a p99 over a few seconds is one
    // stall on a busy host (it was, in the soak: 2.2× after 9 s of a good release), so
    // latency is judged once, over the whole bake.
    const verdict = (final: boolean): Verdict => {
      const latest = feed.latest();
      // A second is taken as complete once the log shows a later one.
      const seconds = latest === undefined ? [] : windowOf([feed.series(replica.url as string)], latest);
      const f = figuresOf(urls(fresh).map(feed.series), seconds);
      const o = figuresOf(urls(old).map(feed.series), seconds);
      return judge(f, o, s, names, seconds.length, !final);
    };
    const emit = (state: "baking" | Verdict["kind"], v: Verdict) =>
      reporter.event({
        type: "bake",
        name: replica.name,
        state,
        detail:
          state === "baking"
            ? `${Math.round((clock.now() - t0) / 1000)}/${s.bakeMs / 1000} s: ${v.line}`
            : v.line,
        seconds: v.seconds,
        fresh: plain(v.fresh),
        old: plain(v.old),
      });
    for (;;) {
      await clock.sleep(s.intervalMs, signal);
      const v = verdict(clock.now() - t0 >= s.bakeMs);
      if (v.kind === "breach") {
        emit("breach", v);
        throw new BakeError(v.line);
      }
      if (clock.now() - t0 >= s.bakeMs) {
        emit(v.kind, v);
        return;
      }
      if (clock.now() - reported >= REPORT_EVERY_MS) {
        reported = clock.now();
        emit("baking", v);
      }
    }
  };
}

function plain(f: Figures): {
  requests: number;
  errors: number;
  failures: number;
  p99?: number;
  p50?: number;
} {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    requests: f.requests,
    errors: f.errors,
    failures: f.failures,
    ...(f.p99 !== undefined ? { p99: r(f.p99) } : {}),
    ...(f.p50 !== undefined ? { p50: r(f.p50) } : {}),
  };
}
