/**
 * Which containers to export, decided from the engine's `inspect` JSON (hostile input: parsed
 * defensively, ids re-validated). A Tailscale sidecar is a container running the
 * tailscale/tailscale image; its app containers share its network namespace
 * (`network_mode: service:tailscale` becomes `NetworkMode: container:<sidecar id>`).
 */
const CONTAINER_ID = /^[0-9a-f]{64}$/;
const TAILSCALE_IMAGE = /^(?:(?:docker\.io|ghcr\.io|index\.docker\.io)\/)?tailscale\/tailscale(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;
const COMPOSE_DIR_LABEL = 'com.docker.compose.project.working_dir';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  networkMode: string;
  labels: Record<string, string>;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Parse `docker inspect` / `podman inspect` output; entries without a valid id are dropped. */
export function parseInspect(json: string): ContainerSummary[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const out: ContainerSummary[] = [];
  for (const c of data as Record<string, unknown>[]) {
    if (typeof c !== 'object' || c === null) continue;
    const id = str(c.Id);
    if (!CONTAINER_ID.test(id)) continue;
    const config = (typeof c.Config === 'object' && c.Config) || {};
    const host = (typeof c.HostConfig === 'object' && c.HostConfig) || {};
    const rawLabels = (config as Record<string, unknown>).Labels;
    const labels: Record<string, string> = {};
    if (rawLabels && typeof rawLabels === 'object')
      for (const [k, v] of Object.entries(rawLabels as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
    out.push({
      id,
      name: str(c.Name).replace(/^\//, ''),
      image: str((config as Record<string, unknown>).Image) || str(c.ImageName),
      networkMode: str((host as Record<string, unknown>).NetworkMode),
      labels,
    });
  }
  return out;
}

export function isTailscaleSidecar(c: ContainerSummary): boolean {
  return TAILSCALE_IMAGE.test(c.image);
}

export interface ExportSelection {
  ids: string[];
  /** Why each container was chosen (for the manifest). */
  reasons: Record<string, string>;
  /** Names the run asked for that matched nothing. */
  unmatched: string[];
}

/** Containers to export: those the run names (name or id prefix ≥ 12), sidecars, and their apps. */
export function selectExportTargets(containers: readonly ContainerSummary[], requested: readonly string[]): ExportSelection {
  const reasons: Record<string, string> = {};
  const unmatched: string[] = [];
  for (const want of requested) {
    const hit = containers.filter((c) => c.name === want || (want.length >= 12 && c.id.startsWith(want)));
    if (hit.length === 0) unmatched.push(want);
    for (const c of hit) reasons[c.id] ??= 'named by the run';
  }
  for (const s of containers.filter(isTailscaleSidecar)) {
    reasons[s.id] ??= 'tailscale sidecar';
    for (const app of containers)
      if (app.networkMode === `container:${s.id}` || (s.name && app.networkMode === `container:${s.name}`))
        reasons[app.id] ??= `shares the network namespace of sidecar ${s.id.slice(0, 12)}`;
  }
  const ids = containers.map((c) => c.id).filter((id) => id in reasons);
  return { ids, reasons, unmatched };
}

/** Compose project directories of sidecar deployments, from the compose label. */
export function sidecarComposeDirs(containers: readonly ContainerSummary[]): string[] {
  const dirs = new Set<string>();
  for (const c of containers.filter(isTailscaleSidecar)) {
    const d = c.labels[COMPOSE_DIR_LABEL];
    if (d && d.startsWith('/') && !d.includes('\0') && !d.includes('\n')) dirs.add(d);
  }
  return [...dirs];
}
