/**
 * Builds an evidence bundle from a run's journal and bench files, and verifies one. Each section
 * of the body is hashed over canonical JSON, the hashes are hashed into a root, and the root is
 * signed with this installation's ed25519 key: editing any byte breaks a section hash, and
 * re-hashing after an edit needs the private key to sign again.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import {
  EVIDENCE_FORMAT,
  type EvidenceBody,
  type EvidenceBundle,
  type EvidenceStep,
  type RunLogins,
  type EvidenceVerdict,
} from '../../shared/evidence.js';
import type { StampedEvent } from '../../shared/runs.js';
import { readEvents, summarize } from '../engine/journal.js';
import { readRunEvents, RUN_EVENTS_MAX } from '../engine/run-events.js';
import { runBenches } from '../bench/index.js';
import { evidenceKey, fingerprint, trustedKeys } from './trust.js';

export { evidenceKey };

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function hashBody(body: EvidenceBody): { hashes: Record<string, string>; root: string } {
  const hashes = Object.fromEntries(
    Object.keys(body)
      .sort()
      .map((k) => [k, sha256(canonical((body as unknown as Record<string, unknown>)[k]))]),
  );
  const root = sha256(
    Object.keys(hashes)
      .map((k) => `${k}=${hashes[k]}`)
      .join('\n'),
  );
  return { hashes, root };
}

export function sealEvidence(body: EvidenceBody, home: string): EvidenceBundle {
  const { hashes, root } = hashBody(body);
  const key = evidenceKey(home);
  const value = sign(null, Buffer.from(root), createPrivateKey(key.privatePem)).toString('base64');
  return { body, hashes, root, signature: { alg: 'ed25519', publicKey: key.publicPem, value } };
}

/** The body's sections: a bundle missing one was cut down after sealing and is refused. */
const REQUIRED_SECTIONS = [
  'format',
  'app',
  'run',
  'recipe',
  'base',
  'kernel',
  'steps',
  'bench',
  'journalSha256',
];

/**
 * Every section a body may hold. The signed root joins `key=hash` lines, which reads back one way
 * only while keys hold no `=` or newline: any other key is refused, so no two bodies share a root.
 */
const KNOWN_SECTIONS = new Set([...REQUIRED_SECTIONS, 'logins']);

export function verifyEvidence(bundle: EvidenceBundle, home?: string): EvidenceVerdict {
  const problems: string[] = [];
  for (const k of REQUIRED_SECTIONS) if (!bundle.body || !(k in bundle.body)) problems.push(`missing ${k}`);
  for (const k of Object.keys(bundle.body ?? {}))
    if (!KNOWN_SECTIONS.has(k)) problems.push(`unknown section ${JSON.stringify(k.slice(0, 40))}`);
  const { hashes, root } = hashBody(bundle.body ?? ({} as EvidenceBody));
  for (const k of new Set([...Object.keys(hashes), ...Object.keys(bundle.hashes ?? {})]))
    if (hashes[k] !== bundle.hashes?.[k]) problems.push(k);
  if (root !== bundle.root) problems.push('root');
  let sigOk = false;
  let signer: string | undefined;
  try {
    const key = createPublicKey(bundle.signature.publicKey);
    signer = fingerprint(bundle.signature.publicKey);
    // Only ed25519, as sealed: "alg: none" or another key type is no signature at all.
    sigOk =
      bundle.signature.alg === 'ed25519' &&
      key.asymmetricKeyType === 'ed25519' &&
      verify(
        null,
        Buffer.from(String(bundle.root)),
        key,
        Buffer.from(String(bundle.signature.value), 'base64'),
      );
  } catch {
    sigOk = false;
  }
  if (!sigOk) problems.push('signature');
  const intact = problems.length === 0;
  const trustedAs =
    home && sigOk && signer ? trustedKeys(home).find((k) => k.fingerprint === signer)?.name : undefined;
  return {
    intact,
    problems,
    signedHere: trustedAs === 'this installation',
    ...(signer ? { signer } : {}),
    ...(trustedAs ? { trustedAs } : {}),
    trusted: intact && trustedAs !== undefined,
  };
}

/** Reads a bundle from disk with a clear error for anything that is not one. */
export function readEvidence(file: string): EvidenceBundle {
  if (!existsSync(file)) throw new HlabError('not-found', `No evidence file ${file}.`);
  let b: EvidenceBundle;
  try {
    b = JSON.parse(readFileSync(file, 'utf8')) as EvidenceBundle;
  } catch {
    // The parser's message quotes the file's first bytes: never echo them (it may be any file).
    throw new HlabError('bad-request', `${file} is not valid JSON, so it is no evidence bundle.`);
  }
  if (b?.body?.format !== EVIDENCE_FORMAT)
    throw new HlabError(
      'bad-request',
      `${file} is not a Hardening Lab evidence bundle (format ${EVIDENCE_FORMAT}).`,
    );
  return b;
}

export function buildEvidence(runsDir: string, runId: string, appVersion: string): EvidenceBody {
  const events = readEvents(runsDir, runId);
  const summary = summarize(runId, events);
  const start = events.find((e) => e.type === 'run-started');
  if (!start || start.type !== 'run-started') throw new HlabError('internal', `Run ${runId} has no start.`);
  const runDir = path.join(runsDir, runId);
  const steps: EvidenceStep[] = start.steps.map((id, index) => ({
    index,
    id,
    title: id,
    params: {},
    reboot: false,
    script: '',
    scriptSha256: '',
    checks: [],
    outcome: 'not-run',
    output: '',
    results: [],
    durationMs: 0,
  }));
  const factsOf = (phase: 'before' | 'after') =>
    events.find(
      (e): e is Extract<StampedEvent, { type: 'facts' }> => e.type === 'facts' && e.phase === phase,
    );
  const { before, after, comparisons } = runBenches(runDir, events);
  let finishedAt: string | undefined;
  for (const e of events) {
    const st = 'index' in e && typeof e.index === 'number' ? steps[e.index] : undefined;
    switch (e.type) {
      case 'step-started':
        if (st)
          Object.assign(st, {
            title: e.title ?? e.step,
            params: e.params,
            reboot: e.reboot ?? false,
            script: e.script ?? '',
            checks: e.checks ?? [],
            ...(e.benchmarks ? { benchmarks: e.benchmarks } : {}),
            ...(e.standards ? { standards: e.standards } : {}),
          });
        break;
      case 'snapshot-taken':
        if (st) st.snapshot = e.snapshot;
        break;
      case 'apply-output':
        if (st) st.output = (st.output + e.text).slice(-8000);
        break;
      case 'apply-finished':
        if (st) st.scriptSha256 = e.scriptSha256;
        break;
      case 'check':
        st?.results.push({ name: e.name, kind: e.kind, pass: e.pass, output: e.output });
        break;
      case 'persist-check':
        if (st) st.persistent = (st.persistent ?? true) && e.pass;
        break;
      case 'rollback-finished':
        if (st) st.rollback = { healthy: e.healthy, durationMs: e.durationMs };
        break;
      case 'step-finished':
        if (st)
          Object.assign(st, {
            outcome: e.outcome,
            durationMs: e.durationMs,
            ...(e.reason ? { reason: e.reason } : {}),
          });
        break;
      case 'run-finished':
        finishedAt = e.at;
        break;
      default:
        break;
    }
  }
  const fb = factsOf('before');
  const fa = factsOf('after');
  const reads = events.filter(
    (e): e is Extract<StampedEvent, { type: 'events-collected' }> => e.type === 'events-collected',
  );
  const kept = readRunEvents(runDir);
  const level = reads.findLast((e) => e.sshdLogLevel)?.sshdLogLevel;
  const errors = reads.flatMap((e) => (e.error ? [e.error] : []));
  const logins: RunLogins | undefined = reads.length
    ? {
        events: kept.slice(0, RUN_EVENTS_MAX),
        total: kept.length,
        ...(level ? { sshdLogLevel: level } : {}),
        ...(errors.length ? { errors } : {}),
      }
    : undefined;
  return {
    format: EVIDENCE_FORMAT,
    app: { name: 'hardening-lab', version: appVersion },
    run: {
      id: runId,
      machine: summary.machine,
      status: summary.status,
      startedAt: summary.startedAt,
      ...(finishedAt ? { finishedAt } : {}),
      ...(summary.persistent !== undefined ? { persistent: summary.persistent } : {}),
      finalReboot: events.some((e) => e.type === 'reboot-started' && e.index === undefined),
    },
    recipe: {
      id: summary.recipe,
      bench: [...new Set([...before, ...after].map((b) => b.tool))],
      ...(start.exceptions?.length ? { exceptions: start.exceptions } : {}),
    },
    base: {
      ...(fb?.provider ? { provider: fb.provider } : {}),
      image: fb?.image ?? 'unknown',
      sha256: fb?.imageSha256 ?? 'unknown',
      ...(fb?.host ? { host: fb.host } : {}),
    },
    kernel: { before: fb?.kernel ?? 'unknown', after: fa?.kernel ?? fb?.kernel ?? 'unknown' },
    steps,
    bench: { before, after, comparisons },
    journalSha256: sha256(readFileSync(path.join(runDir, 'journal.jsonl'))),
    ...(logins ? { logins } : {}),
  };
}
