import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { bundledCollectorsDir, collectorJsonSchema, loadCollectors, parseCollector, substitute } from '../../../src/evidence/collector-schema.js';
import { InputFileError } from '../../../src/core/errors.js';

describe('collector definitions', () => {
  it('loads the bundled collectors', async () => {
    const all = await loadCollectors(fileURLToPath(bundledCollectorsDir));
    expect([...all.keys()].sort()).toEqual(['containers', 'host-triage', 'scaletail', 'tailscale-client']);
    const ts = all.get('tailscale-client');
    expect(ts?.artifacts.find((a) => a.name === 'tailscaled.state')?.sensitive).toBe(true);
    expect(all.get('containers')?.choose.engine).toEqual(['docker', 'podman']);
  });

  it('rejects unknown placeholders, bad fields and bad regexes with the file named', () => {
    expect(() => parseCollector('id: x\ndescription: d\nartifacts:\n  - name: a\n    argv: [cat, "{nope}"]\n', 'x.yaml')).toThrow(
      /x\.yaml: artifacts\[0\]\.argv: unknown variable \{nope\}/,
    );
    expect(() => parseCollector('id: x\ndescription: d\nartifacts:\n  - name: a\n    argv: "cat file"\n', 'x.yaml')).toThrow(InputFileError);
    expect(() =>
      parseCollector('id: x\ndescription: d\nartifacts:\n  - name: a\n    argv: [x]\n    foreach: {as: i, argv: [ls], match: "("}\n', 'x.yaml'),
    ).toThrow(/invalid regular expression/);
    expect(() => parseCollector('id: x\ndescription: d\nartifacts:\n  - name: a\n    argv: [x]\n    shell: true\n', 'x.yaml')).toThrow(InputFileError);
  });

  it('substitutes whole values into single arguments only', () => {
    expect(substitute('{dir}/.env', { dir: "/a b/'; rm -rf /" })).toBe("/a b/'; rm -rf //.env");
    expect(() => substitute('{x}', {})).toThrow(/unknown variable/);
    expect(substitute('{{.Image}}', {})).toBe('{{.Image}}');
  });

  it('exports a JSON Schema', () => {
    expect(JSON.stringify(collectorJsonSchema())).toContain('artifacts');
  });
});
