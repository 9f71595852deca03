/**
 * kube-bench's check files (controls → groups → checks) as a file format of labs/kube/, checked
 * with file:line errors like steps and recipes. One extension: `variables`, the candidate paths or
 * process names behind `$kubeletconf` and friends (kube-bench keeps them in its config.yaml), so a
 * check whose component is absent is "not applicable", never a pass.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { KUBE_OPS, type KubeCheck, type KubeControls, type KubeTestItem } from '../../shared/kube.js';
import type { LabIssue } from '../../shared/steps.js';
import { Checker, type Schema } from '../steps/schema.js';
import { parseYaml, title } from '../steps/load.js';

const anyText = { kind: 'string', nonEmpty: true } as const;
const id = { kind: 'scalar' } as const;
const VAR_NAME = /^[a-z][a-z0-9]{0,39}$/;

/** `{.a.b.c}` only: the paths node checks use; kube-bench's {range …} forms are refused. */
export const KUBE_PATH = /^\{(\.[A-Za-z_][A-Za-z0-9_-]*)+\}$/;

function itemProblem(v: Record<string, unknown>): string | undefined {
  if (v.flag === undefined && v.path === undefined && v.env === undefined)
    return 'a test item needs flag, path or env';
  const c = v.compare as { op?: string; value?: unknown } | undefined;
  if (c?.op === 'bitmask' && !/^[0-7]{3,4}$/.test(String(c.value)))
    return `compare.value: bitmask expects an octal mode like 600 (got "${String(c.value)}")`;
  if (c?.op === 'regex')
    try {
      new RegExp(String(c.value));
    } catch (err) {
      return `compare.value: not a regular expression: ${(err as Error).message}`;
    }
  return undefined;
}

const ITEM: Schema = {
  kind: 'object',
  fields: {
    flag: { schema: anyText },
    path: {
      schema: {
        kind: 'string',
        pattern: KUBE_PATH,
        patternHint: 'a path like {.authentication.anonymous.enabled}',
      },
    },
    env: { schema: { kind: 'string', pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'a variable name' } },
    set: { schema: { kind: 'boolean' } },
    compare: {
      schema: {
        kind: 'object',
        fields: {
          op: { schema: { kind: 'string', enum: KUBE_OPS }, required: true },
          value: { schema: { kind: 'scalar' }, required: true },
        },
      },
    },
  },
  check: itemProblem,
};

const CHECK: Schema = {
  kind: 'object',
  fields: {
    id: { schema: id, required: true },
    text: { schema: title, required: true },
    type: { schema: { kind: 'string', enum: ['manual', 'skip'] } },
    audit: { schema: anyText },
    audit_config: { schema: anyText },
    tests: {
      schema: {
        kind: 'object',
        fields: {
          bin_op: { schema: { kind: 'string', enum: ['and', 'or'] } },
          test_items: { schema: { kind: 'array', items: ITEM, minItems: 1 }, required: true },
        },
      },
    },
    remediation: { schema: anyText },
    scored: { schema: { kind: 'boolean' }, required: true },
  },
  check: (v) =>
    v.type === undefined && (v.audit === undefined || v.tests === undefined)
      ? 'a check needs audit and tests (or type: manual)'
      : undefined,
};

const CONTROLS: Schema = {
  kind: 'object',
  fields: {
    controls: { schema: { kind: 'any' } },
    version: { schema: anyText, required: true },
    id: { schema: id, required: true },
    text: { schema: title, required: true },
    type: {
      schema: { kind: 'string', enum: ['node', 'master', 'etcd', 'controlplane', 'policies'] },
      required: true,
    },
    variables: {
      schema: {
        kind: 'map',
        keyPattern: VAR_NAME,
        values: {
          kind: 'object',
          fields: {
            component: {
              schema: {
                kind: 'string',
                pattern: /^[a-z][a-z0-9 ._-]{0,40}$/,
                patternHint: 'a name like kubelet',
              },
              required: true,
            },
            kind: { schema: { kind: 'string', enum: ['file', 'process'] }, required: true },
            candidates: {
              schema: {
                kind: 'array',
                items: {
                  kind: 'string',
                  pattern: /^[A-Za-z0-9/._-]{1,200}$/,
                  patternHint: 'a path or program name',
                },
                minItems: 1,
              },
              required: true,
            },
          },
        },
      },
    },
    groups: {
      schema: {
        kind: 'array',
        minItems: 1,
        items: {
          kind: 'object',
          fields: {
            id: { schema: id, required: true },
            text: { schema: title, required: true },
            checks: { schema: { kind: 'array', items: CHECK, minItems: 1 }, required: true },
          },
        },
      },
      required: true,
    },
  },
};

/** An id as written: `4.10` stays "4.10", not the number 4.1. */
function idText(node: Node | null | undefined): string {
  if (!isScalar(node)) return '';
  return typeof node.value === 'number' ? (node.source ?? String(node.value)) : String(node.value);
}

const get = (m: unknown, key: string): Node | undefined =>
  isMap(m) ? ((m as YAMLMap).get(key, true) as Node | undefined) : undefined;

/** `$name` and `${name}` of the declared variables, in audit text. */
function needs(texts: Array<string | undefined>, declared: string[]): string[] {
  return declared.filter((v) =>
    texts.some((t) => t && (t.includes(`\${${v}}`) || new RegExp(`\\$${v}(?![a-z0-9])`).test(t))),
  );
}

export function loadKubeControls(
  file: string,
  display: string,
  text?: string,
): { controls?: KubeControls; issues: LabIssue[] } {
  const { node, lines, issues } = parseYaml(file, display, text);
  if (issues.length) return { issues };
  const c = new Checker(lines);
  const v = c.check(node, CONTROLS, '', 1) as Record<string, unknown> | undefined;
  const all: LabIssue[] = c.issues.map((i) => ({ file: display, ...i }));
  if (!v || all.length) return { issues: all };
  const variables = (v.variables ?? {}) as KubeControls['variables'];
  const declared = Object.keys(variables);
  const seen = new Map<string, number>();
  const groups: KubeControls['groups'] = [];
  const groupNodes = get(node, 'groups');
  (isSeq(groupNodes) ? groupNodes.items : []).forEach((g, gi) => {
    const checks: KubeCheck[] = [];
    const checkNodes = get(g, 'checks');
    (isSeq(checkNodes) ? checkNodes.items : []).forEach((cn, ci) => {
      const raw = ((v.groups as Array<{ checks: Array<Record<string, unknown>> }>)[gi]?.checks[ci] ??
        {}) as Record<string, unknown>;
      const line = lines.linePos((cn as Node).range?.[0] ?? 0).line;
      const cid = idText(get(cn, 'id'));
      const dup = seen.get(cid);
      if (dup !== undefined)
        all.push({
          file: display,
          line,
          path: `groups[${gi}].checks[${ci}].id`,
          message: `"${cid}" is already the id of the check on line ${dup}`,
        });
      seen.set(cid, line);
      const tests = raw.tests as
        { bin_op?: 'and' | 'or'; test_items: Array<Record<string, unknown>> } | undefined;
      const check: KubeCheck = {
        id: cid,
        text: raw.text as string,
        ...(raw.audit ? { audit: raw.audit as string } : {}),
        ...(raw.audit_config ? { auditConfig: raw.audit_config as string } : {}),
        ...(tests
          ? {
              tests: {
                binOp: tests.bin_op ?? 'and',
                items: tests.test_items.map((t): KubeTestItem => ({
                  ...(t.flag !== undefined ? { flag: t.flag as string } : {}),
                  ...(t.path !== undefined ? { path: t.path as string } : {}),
                  ...(t.env !== undefined ? { env: t.env as string } : {}),
                  set: (t.set as boolean | undefined) ?? true,
                  ...(t.compare
                    ? {
                        compare: {
                          op: (t.compare as { op: KubeTestItem['compare'] & object }).op as never,
                          value: String((t.compare as { value: unknown }).value),
                        },
                      }
                    : {}),
                })),
              },
            }
          : {}),
        ...(raw.remediation ? { remediation: raw.remediation as string } : {}),
        scored: raw.scored as boolean,
        ...(raw.type ? { type: raw.type as 'manual' | 'skip' } : {}),
        needs: needs([raw.audit as string | undefined, raw.audit_config as string | undefined], declared),
        line,
      };
      checks.push(check);
    });
    groups.push({
      id: idText(get(g, 'id')),
      text: (v.groups as Array<{ text: string }>)[gi]?.text ?? '',
      checks,
    });
  });
  if (all.length) return { issues: all };
  return {
    controls: {
      file: display,
      version: v.version as string,
      id: idText(get(node, 'id')),
      text: v.text as string,
      type: v.type as string,
      variables,
      groups,
    },
    issues: [],
  };
}

export const KUBE_DIR = 'kube';

/** Every controls file of a labs folder's kube/, in name order. */
export function loadKubeDir(labsDir: string): { controls: KubeControls[]; issues: LabIssue[] } {
  const dir = path.join(labsDir, KUBE_DIR);
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return { controls: [], issues: [] };
  }
  const controls: KubeControls[] = [];
  const issues: LabIssue[] = [];
  for (const f of files) {
    const r = loadKubeControls(path.join(dir, f), path.join('labs', KUBE_DIR, f));
    if (r.controls) controls.push(r.controls);
    issues.push(...r.issues);
  }
  return { controls, issues };
}
