/**
 * The Ansible export hands each step script to `ansible.builtin.raw` as free-form text, which
 * Ansible first splits with its own parser: one stray apostrophe in a comment ("host's") makes the
 * whole playbook fail with "unbalanced jinja2 block or quotes". Every script and check of the
 * library goes through Ansible's real splitter here (ansible-core is installed by npm test).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import { renderScript } from '../../electron/steps/render.js';

const SPLIT = `
import json, sys
from ansible.parsing.splitter import split_args
bad = []
for name, text in json.load(sys.stdin):
    try:
        split_args(text)
    except Exception as e:
        bad.append(name + ": " + str(e).splitlines()[0])
print(json.dumps(bad))
`;

describe('library scripts survive the Ansible export', () => {
  it("every apply and check passes ansible's free-form argument splitter", () => {
    const items = loadLibrary().steps.flatMap((s) => [
      [`${s.id} apply`, renderScript(s.apply, defaultParams(s))],
      ...s.verify
        .filter((c) => c.run)
        .map((c) => [`${s.id} verify ${c.name}`, renderScript(c.run!, defaultParams(s))]),
    ]);
    const r = spawnSync('/usr/bin/python3', ['-c', SPLIT], {
      input: JSON.stringify(items),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    // The splitter does refuse what the export could not carry.
    const probe = spawnSync('/usr/bin/python3', ['-c', SPLIT], {
      input: JSON.stringify([['x', "# the host's routes\necho ok"]]),
      encoding: 'utf8',
    });
    expect(JSON.parse(probe.stdout)).toHaveLength(1);
  });
});
