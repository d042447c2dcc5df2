import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { playbookJsonSchema, playbookSchema } from '../../../src/core/playbook.js';

describe('playbooks/schema.json', () => {
  it('equals the schema generated from the zod definition (regenerate: tailnet-ir playbooks schema > playbooks/schema.json)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../playbooks/schema.json', import.meta.url), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(playbookJsonSchema())));
  });

  it('describes step fields editors autocomplete', () => {
    const schema = JSON.stringify(playbookJsonSchema());
    for (const field of ['on_failure', 'compensation', 'approval', 'retry', 'timeout', 'when']) expect(schema).toContain(`"${field}"`);
  });

  it('fills defaults: approval auto, on_failure pause, empty params', () => {
    const p = playbookSchema.parse({ id: 'x', version: 1, description: 'd', steps: [{ id: 'a', action: 'write-report' }] });
    expect(p.steps[0]).toMatchObject({ approval: 'auto', on_failure: 'pause', params: {} });
  });

  it('rejects unknown fields and bad durations', () => {
    expect(playbookSchema.safeParse({ id: 'x', version: 1, description: 'd', steps: [{ id: 'a', action: 'b', colour: 'red' }] }).success).toBe(false);
    expect(playbookSchema.safeParse({ id: 'x', version: 1, description: 'd', steps: [{ id: 'a', action: 'b', timeout: '5 minutes' }] }).success).toBe(false);
  });
});
