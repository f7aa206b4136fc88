// One service's facts for the release's unit tests: a worker with compose's defaults
// (10 s grace, SIGTERM, no healthcheck, one replica); `more` changes any field.
import type { ServiceFacts } from "./release-policy.js";

export const fact = (service: string, more: Partial<ServiceFacts> = {}): ServiceFacts => ({
  service,
  routed: false,
  update: {},
  rollback: {},
  healthcheck: false,
  stopGraceMs: 10_000,
  stopSignal: "SIGTERM",
  dependsOn: [],
  replicas: 1,
  ...more,
});
