import type { Fault } from './scenario.js';

export type FaultDecision =
  | { action: 'none'; latencyMs: number }
  | { action: 'fail'; latencyMs: number; status: number; message: string };

const defaultMessages: Record<number, string> = {
  403: 'forbidden: the credential does not have access to this operation (injected fault)',
  429: 'rate limit exceeded (injected fault)',
  500: 'internal server error (injected fault)',
  502: 'bad gateway (injected fault)',
  503: 'service unavailable (injected fault)',
  504: 'request timed out, retry later (injected fault)',
};

/**
 * Decides, per request, whether the simulated tailnet adds latency or answers with an injected
 * error. Failure rules are spent after `times` uses, so every injected fault is bounded.
 */
export class FaultInjector {
  private rules: Array<Fault & { remaining?: number }> = [];
  private pendingPolicyRaces = 0;
  private sawPolicyRead = false;

  constructor(faults: Fault[] = []) {
    faults.forEach((f) => this.add(f));
  }

  add(fault: Fault): void {
    if (fault.kind === 'concurrent-policy-edit') this.pendingPolicyRaces += fault.times;
    else this.rules.push({ ...fault, ...(fault.kind === 'status' ? { remaining: fault.times } : {}) });
  }

  clear(): void {
    this.rules = [];
    this.pendingPolicyRaces = 0;
    this.sawPolicyRead = false;
  }

  list(): unknown[] {
    return [
      ...this.rules.map((r) => (r.kind === 'status' ? { ...r, times: r.remaining } : r)),
      ...(this.pendingPolicyRaces ? [{ kind: 'concurrent-policy-edit', times: this.pendingPolicyRaces }] : []),
    ];
  }

  decide(method: string, path: string): FaultDecision {
    let latencyMs = 0;
    for (const r of this.rules) if (r.kind === 'latency' && routeMatches(r.route, method, path)) latencyMs += r.ms;
    const failing = this.rules.find((r) => r.kind === 'status' && (r.remaining ?? 0) > 0 && routeMatches(r.route, method, path));
    if (failing && failing.kind === 'status') {
      failing.remaining = (failing.remaining ?? 1) - 1;
      this.rules = this.rules.filter((r) => r.kind !== 'status' || (r.remaining ?? 0) > 0);
      return { action: 'fail', latencyMs, status: failing.status, message: failing.message ?? defaultMessages[failing.status] ?? 'injected fault' };
    }
    return { action: 'none', latencyMs };
  }

  /** Note a policy read; the next policy write may then race with a concurrent edit. */
  notePolicyRead(): void {
    if (this.pendingPolicyRaces > 0) this.sawPolicyRead = true;
  }

  /** True once per armed race, for the first policy write after a read. */
  takePolicyRace(): boolean {
    if (this.pendingPolicyRaces > 0 && this.sawPolicyRead) {
      this.pendingPolicyRaces--;
      this.sawPolicyRead = false;
      return true;
    }
    return false;
  }
}

/** `METHOD /a/*\/b`: `*` is one path segment, `**` any number; method `*` is any method. */
export function routeMatches(route: string, method: string, path: string): boolean {
  const space = route.indexOf(' ');
  const m = route.slice(0, space);
  const pattern = route.slice(space + 1);
  if (m !== '*' && m !== method) return false;
  const re = new RegExp(
    `^${pattern
      .split('/')
      .map((seg) => (seg === '**' ? '.*' : seg === '*' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`,
  );
  return re.test(path);
}

/** Parse `--fail "POST /api/v2/users/*\/suspend=403x2"` style flags. */
export function parseFailFlag(flag: string): Fault {
  const m = /^(.+)=(\d{3})(?:x(\d+))?$/.exec(flag.trim());
  if (!m) throw new Error(`expected "METHOD /path=STATUS[xN]", got ${JSON.stringify(flag)}`);
  return { kind: 'status', route: m[1]!, status: Number(m[2]) as 403, times: m[3] ? Number(m[3]) : 1 };
}
