/**
 * A small schema checker over YAML syntax nodes, so every error can name file, line and field
 * (`labs/steps/x.yaml:12: verify[1].run: expected string`). Unknown fields are errors.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export type Schema =
  | { kind: 'string'; enum?: readonly string[]; pattern?: RegExp; patternHint?: string; nonEmpty?: boolean }
  | { kind: 'boolean' }
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'scalar' }
  /** Anything, even nothing (kube-bench's bare `controls:` key). */
  | { kind: 'any' }
  /** A parameter value: a scalar, or a list of strings. */
  | { kind: 'value' }
  | { kind: 'array'; items: Schema; minItems?: number }
  | {
      kind: 'object';
      fields: Record<string, Field>;
      check?: (value: Record<string, unknown>) => string | undefined;
    }
  | { kind: 'map'; keyPattern?: RegExp; values: Schema };

export interface Field {
  schema: Schema;
  required?: boolean;
}

export interface SchemaIssue {
  line: number;
  path: string;
  message: string;
}

export class Checker {
  readonly issues: SchemaIssue[] = [];

  constructor(private readonly lines: LineCounter) {}

  private lineOf(node: Node | null | undefined, fallback: number): number {
    const offset = node?.range?.[0];
    return offset === undefined ? fallback : this.lines.linePos(offset).line;
  }

  private fail(node: Node | null | undefined, fallback: number, path: string, message: string): undefined {
    this.issues.push({ line: this.lineOf(node, fallback), path, message });
    return undefined;
  }

  /** Returns the plain value when it conforms; records issues otherwise. */
  check(node: Node | null | undefined, schema: Schema, path: string, parentLine: number): unknown {
    const line = this.lineOf(node, parentLine);
    const where = path || '(document)';
    switch (schema.kind) {
      case 'string': {
        if (!isScalar(node) || typeof node.value !== 'string')
          return this.fail(node, line, where, 'expected string');
        const v = node.value;
        if (schema.nonEmpty && !v.trim()) return this.fail(node, line, where, 'must not be empty');
        if (schema.enum && !schema.enum.includes(v))
          return this.fail(node, line, where, `expected one of ${schema.enum.join(', ')} (got "${v}")`);
        if (schema.pattern && !schema.pattern.test(v))
          return this.fail(
            node,
            line,
            where,
            `expected ${schema.patternHint ?? `a value matching ${schema.pattern}`} (got "${v}")`,
          );
        return v;
      }
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean')
          return this.fail(node, line, where, 'expected true or false');
        return node.value;
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value))
          return this.fail(node, line, where, 'expected integer');
        const v = node.value;
        if (schema.min !== undefined && v < schema.min)
          return this.fail(node, line, where, `must be at least ${schema.min}`);
        if (schema.max !== undefined && v > schema.max)
          return this.fail(node, line, where, `must be at most ${schema.max}`);
        return v;
      }
      case 'any':
        return node && isScalar(node) ? (node.value ?? null) : null;
      case 'scalar':
        if (!isScalar(node) || node.value === null)
          return this.fail(node, line, where, 'expected a string, number or boolean');
        return node.value;
      case 'value': {
        if (isSeq(node))
          return this.check(node, { kind: 'array', items: { kind: 'string' } }, path, parentLine);
        return this.check(node, { kind: 'scalar' }, path, parentLine);
      }
      case 'array': {
        if (!isSeq(node)) return this.fail(node, line, where, 'expected a list');
        if (schema.minItems && node.items.length < schema.minItems)
          return this.fail(node, line, where, `expected at least ${schema.minItems} item(s)`);
        const out: unknown[] = [];
        let ok = true;
        node.items.forEach((item, i) => {
          const v = this.check(item as Node, schema.items, `${path}[${i}]`, line);
          if (v === undefined) ok = false;
          out.push(v);
        });
        return ok ? out : undefined;
      }
      case 'map': {
        if (!isMap(node)) return this.fail(node, line, where, 'expected a mapping');
        const out: Record<string, unknown> = {};
        let ok = true;
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : '';
          const keyPath = path ? `${path}.${key}` : key;
          if (schema.keyPattern && !schema.keyPattern.test(key)) {
            this.fail(pair.key as Node, line, keyPath, `invalid name "${key}"`);
            ok = false;
            continue;
          }
          const v = this.check(
            pair.value as Node,
            schema.values,
            keyPath,
            this.lineOf(pair.key as Node, line),
          );
          if (v === undefined) ok = false;
          out[key] = v;
        }
        return ok ? out : undefined;
      }
      case 'object': {
        if (!isMap(node)) return this.fail(node, line, where, 'expected a mapping');
        const out: Record<string, unknown> = {};
        let ok = true;
        const seen = new Set<string>();
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : '';
          const keyPath = path ? `${path}.${key}` : key;
          seen.add(key);
          // Own fields only: a key named "constructor" or "toString" is just an unknown field.
          const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
          if (!field) {
            this.fail(
              pair.key as Node,
              line,
              keyPath,
              `unknown field (known: ${Object.keys(schema.fields).join(', ')})`,
            );
            ok = false;
            continue;
          }
          const v = this.check(
            pair.value as Node,
            field.schema,
            keyPath,
            this.lineOf(pair.key as Node, line),
          );
          if (v === undefined) ok = false;
          out[key] = v;
        }
        for (const [key, field] of Object.entries(schema.fields)) {
          if (field.required && !seen.has(key)) {
            this.fail(node, line, path ? `${path}.${key}` : key, 'required field is missing');
            ok = false;
          }
        }
        if (ok && schema.check) {
          const problem = schema.check(out);
          if (problem) return this.fail(node, line, where, problem);
        }
        return ok ? out : undefined;
      }
    }
  }
}
