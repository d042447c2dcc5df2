import { describe, expect, it } from 'vitest';
import { InputFileError } from '../../../src/core/errors.js';
import { loadScenario, parseScenario } from '../../../src/drill/sim/scenario.js';

function errorOf(fn: () => unknown): InputFileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputFileError) return e;
    throw e;
  }
  throw new Error('expected an InputFileError');
}

describe('scenario files', () => {
  it('the built-in default scenario is valid', async () => {
    const s = await loadScenario();
    expect(s.name).toBe('example-corp');
    expect(s.drill?.target).toBe('web-2');
    expect(s.devices.map((d) => d.hostname)).toContain('bob-laptop');
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const e = errorOf(() => parseScenario('users:\n  - loginName: a@b.c\n    role: [unclosed\n', 'bad.yaml'));
    expect(e.message).toMatch(/^bad\.yaml \(line \d+, column \d+\): /);
  });

  it('reports schema errors with file, line and field', () => {
    const text = 'users:\n  - loginName: a@example.com\n    role: superuser\n';
    const e = errorOf(() => parseScenario(text, 's.yaml'));
    expect(e.message).toMatch(/^s\.yaml \(line 3, field users\[0\]\.role\): /);
  });

  it('rejects a device owned by an unknown user, naming the field', () => {
    const text = 'users:\n  - loginName: a@example.com\ndevices:\n  - hostname: h1\n    user: ghost@example.com\n';
    const e = errorOf(() => parseScenario(text, 's.yaml'));
    expect(e.message).toContain('line 5, field devices[0].user');
    expect(e.message).toContain('unknown user "ghost@example.com"');
  });

  it('rejects unknown keys instead of ignoring typos', () => {
    const e = errorOf(() => parseScenario('users:\n  - loginName: a@example.com\ndevcies: []\n', 's.yaml'));
    expect(e.message).toMatch(/devcies|Unrecognized key/);
  });

  it('a missing file is an input error naming the file', async () => {
    await expect(loadScenario('/nonexistent/scenario.yaml')).rejects.toThrow(/\/nonexistent\/scenario\.yaml: cannot read scenario: ENOENT/);
  });
});
