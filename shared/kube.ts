/**
 * Kubernetes node checks in kube-bench's file format (controls → groups → checks with an audit
 * command and tests), as plain data. See electron/bench/kube-*.ts and labs/kube/.
 */
export const KUBE_OPS = [
  'eq',
  'noteq',
  'gt',
  'gte',
  'lt',
  'lte',
  'has',
  'nothave',
  'regex',
  'valid_elements',
  'bitmask',
] as const;
export type KubeOp = (typeof KUBE_OPS)[number];

export interface KubeTestItem {
  /** Looked up in the audit command's output: `--flag=value`, `flag: value`, `--flag`. */
  flag?: string;
  /** A `{.a.b}` path into the audit_config output (YAML or JSON). */
  path?: string;
  /** An environment variable in the audit output (`NAME=value`). */
  env?: string;
  /** false: the test passes when the flag or path is absent. */
  set: boolean;
  compare?: { op: KubeOp; value: string };
}

export interface KubeCheck {
  id: string;
  text: string;
  audit?: string;
  auditConfig?: string;
  tests?: { binOp: 'and' | 'or'; items: KubeTestItem[] };
  remediation?: string;
  scored: boolean;
  /** manual: a person judges it; skip: not run. */
  type?: 'manual' | 'skip';
  /** The shell variables (declared under `variables`) its audits use. */
  needs: string[];
  line: number;
}

export interface KubeVariable {
  /** What is absent when none of the candidates is there: "kubelet", "docker". */
  component: string;
  /** file: the first candidate path that exists; process: the first candidate name running. */
  kind: 'file' | 'process';
  candidates: string[];
}

export interface KubeControls {
  file: string;
  version: string;
  id: string;
  text: string;
  type: string;
  variables: Record<string, KubeVariable>;
  groups: Array<{ id: string; text: string; checks: KubeCheck[] }>;
}
