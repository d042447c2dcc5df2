import { UsageError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Playbook } from '../core/playbook.js';

/**
 * Check raw inputs (from the CLI, a webhook or a drill) against the playbook's declared
 * inputs: required ones present, types right, defaults filled, unknown names refused.
 */
export function resolveInputs(playbook: Playbook, raw: Record<string, unknown>): Record<string, JsonValue> {
  const problems: string[] = [];
  const out: Record<string, JsonValue> = {};
  for (const name of Object.keys(raw)) if (!(name in playbook.inputs)) problems.push(`unknown input ${name}`);
  for (const [name, spec] of Object.entries(playbook.inputs)) {
    let value = raw[name];
    if (value === undefined || value === null) {
      if (spec.default !== undefined) value = spec.default;
      else if (spec.required) {
        problems.push(`missing input ${name} (${spec.description})`);
        continue;
      } else continue;
    }
    if (spec.type === 'string-list' && typeof value === 'string') value = value.split(',').map((v) => v.trim()).filter(Boolean);
    if (spec.type === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) value = Number(value);
    if (spec.type === 'boolean' && (value === 'true' || value === 'false')) value = value === 'true';
    const ok =
      spec.type === 'string' ? typeof value === 'string' && value.length > 0
      : spec.type === 'string-list' ? Array.isArray(value) && value.every((v) => typeof v === 'string')
      : spec.type === 'number' ? typeof value === 'number' && Number.isFinite(value)
      : typeof value === 'boolean';
    if (!ok) problems.push(`input ${name} must be a ${spec.type}`);
    else out[name] = value as JsonValue;
  }
  if (problems.length)
    throw new UsageError(`playbook ${playbook.id}: ${problems.join('; ')}`, {
      hint: `inputs: ${Object.entries(playbook.inputs).map(([n, s]) => `${n} (${s.type}${s.required && s.default === undefined ? ', required' : ''})`).join(', ')}. Nothing was started.`,
    });
  return out;
}
