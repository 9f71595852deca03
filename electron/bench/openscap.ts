/**
 * OpenSCAP over SSH: openscap-scanner from the guest's own apt, the SSG Debian 12 datastream from
 * the host's cached ssg-debian .deb (checked by hash in the guest before use), and either a shipped
 * profile or a tailoring that selects exactly the rules the steps claim (several are in no shipped
 * profile). oscap's per-rule lines become the common score model: passed rules out of those that
 * could be judged.
 */
import { HlabError } from '../../shared/errors.js';
import type { BenchResult, BenchTest, TestResult } from '../../shared/bench.js';
import type { SshExecutor } from '../ssh/executor.js';
import { shQuote } from '../ssh/executor.js';
import type { SsgContent } from './ssg-content.js';

export const RULE_PREFIX = 'xccdf_org.ssgproject.content_rule_';
export const PROFILE_PREFIX = 'xccdf_org.ssgproject.content_profile_';
export const TAILORED_PROFILE = 'xccdf_lab.hardening_profile_claims';
const DATASTREAM = 'ssg-debian12-ds.xml';
const GUEST_DIR = '/var/lib/hlab/ssg';
/** The unpacked datastream, one folder per content version. */
const guestDir = (version: string) => `${GUEST_DIR}/${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`;
export const SSG_RULE_ID = /^[a-z0-9_]{1,120}$/;
const PROFILE_ID = /^[A-Za-z0-9_.-]{1,160}$/;

export interface OpenscapOptions {
  content: SsgContent;
  /** Short SSG rule ids (sshd_disable_root_login) to evaluate through a tailoring. */
  rules?: string[];
  /** A shipped profile (standard, anssi_bp28_minimal, or its full id) instead of a tailoring. */
  profile?: string;
  signal?: AbortSignal;
  onOutput?: (text: string) => void;
  timeoutMs?: number;
}

const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** An XCCDF 1.2 tailoring whose one profile selects exactly these rules and nothing else. */
export function tailoringXml(rules: string[], at: Date = new Date()): string {
  for (const r of rules) {
    if (!SSG_RULE_ID.test(r))
      throw new HlabError('bad-request', `"${r}" is not an SSG rule id (a-z, 0-9, _).`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<xccdf:Tailoring xmlns:xccdf="http://checklists.nist.gov/xccdf/1.2" id="xccdf_lab.hardening_tailoring_claims">',
    `  <xccdf:version time="${at.toISOString().slice(0, 19)}">1</xccdf:version>`,
    `  <xccdf:Profile id="${TAILORED_PROFILE}">`,
    '    <xccdf:title>Rules claimed by Hardening Lab steps</xccdf:title>',
    ...[...new Set(rules)].map(
      (r) => `    <xccdf:select idref="${xmlAttr(RULE_PREFIX + r)}" selected="true"/>`,
    ),
    '  </xccdf:Profile>',
    '</xccdf:Tailoring>',
    '',
  ].join('\n');
}

export function profileId(p: string): string {
  if (!PROFILE_ID.test(p)) throw new HlabError('bad-request', `"${p}" is not an XCCDF profile id.`);
  return p.startsWith('xccdf_') ? p : PROFILE_PREFIX + p;
}

const MARK = {
  rc: '#hlab-oscap-rc ',
  err: '#hlab-oscap-stderr',
  score: '#hlab-oscap-score',
  ver: '#hlab-oscap-version ',
};

/** Installs oscap if missing, unpacks the datastream once per content version, evaluates. */
export function openscapScript(o: {
  staged?: string;
  content: Pick<SsgContent, 'version' | 'sha256'>;
  profile: string;
  tailoring?: string;
}): string {
  const dir = guestDir(o.content.version);
  const ds = `${dir}/${DATASTREAM}`;
  return [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    'command -v oscap >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends openscap-scanner >/dev/null; }',
    `install -d -m 0700 ${GUEST_DIR}`,
    `if [ ! -s ${ds} ]; then`,
    o.staged
      ? [
          `  install -m 0600 ${shQuote(o.staged)} ${GUEST_DIR}/incoming.deb && rm -f ${shQuote(o.staged)}`,
          `  echo "${o.content.sha256}  ${GUEST_DIR}/incoming.deb" | sha256sum --quiet -c - || { echo HLAB-SSG-HASH; exit 6; }`,
          `  rm -rf ${dir}.tmp && mkdir -p ${dir}.tmp`,
          `  dpkg-deb --fsys-tarfile ${GUEST_DIR}/incoming.deb | tar -xO ./usr/share/xml/scap/ssg/content/${DATASTREAM} > ${dir}.tmp/${DATASTREAM}`,
          `  rm -rf ${dir} ${GUEST_DIR}/incoming.deb && mv ${dir}.tmp ${dir}`,
        ].join('\n')
      : '  echo HLAB-SSG-MISSING; exit 5',
    'fi',
    'w=$(mktemp -d)',
    ...(o.tailoring
      ? [`cat > "$w/tailoring.xml" <<'HLAB_TAILORING'`, o.tailoring.trimEnd(), 'HLAB_TAILORING']
      : []),
    'set +e',
    `oscap xccdf eval ${o.tailoring ? '--tailoring-file "$w/tailoring.xml" ' : ''}--profile ${shQuote(o.profile)} --results "$w/results.xml" ${ds} >"$w/out" 2>"$w/err"`,
    'rc=$?',
    'set -e',
    `echo "${MARK.ver}$(oscap --version | head -n 1)"`,
    `echo "${MARK.rc}$rc"`,
    'cat "$w/out"',
    `echo '${MARK.err}'`,
    'cat "$w/err"',
    `echo '${MARK.score}'`,
    `grep -o '<score [^>]*>[^<]*</score>' "$w/results.xml" 2>/dev/null | head -n 1 || true`,
    'rm -rf "$w"',
  ].join('\n');
}

const RESULT: Record<string, TestResult> = {
  pass: 'pass',
  fixed: 'pass',
  fail: 'fail',
  error: 'fail',
  unknown: 'warn',
  notapplicable: 'skip',
  notchecked: 'info',
  notselected: 'skip',
  informational: 'info',
};

export interface OscapParsed {
  rc: number;
  tests: BenchTest[];
  unknownRules: string[];
  version: string;
  xccdfScore?: string;
  stderr: string;
}

/** oscap's "Title / Rule / Result" blocks, its exit code and the rules it said do not exist. */
export function parseOscap(stdout: string): OscapParsed {
  const [head = '', tail = ''] = stdout.split(`${MARK.err}\n`);
  const [stderr = '', scorePart = ''] = tail.split(`${MARK.score}\n`);
  const tests: BenchTest[] = [];
  let title: string | undefined;
  let rule: string | undefined;
  let version = 'unknown';
  let rc = -1;
  for (const line of head.split('\n')) {
    // oscap writes "Title\r\t…" (the \r rewinds its progress line on a terminal).
    const field = /^(Title|Rule|Result)\r?\t(.*)$/.exec(line);
    if (line.startsWith(MARK.ver)) version = line.slice(MARK.ver.length).trim();
    else if (line.startsWith(MARK.rc)) rc = Number(line.slice(MARK.rc.length));
    else if (field?.[1] === 'Title') title = (field[2] as string).trim();
    else if (field?.[1] === 'Rule') rule = (field[2] as string).trim();
    else if (field?.[1] === 'Result' && rule) {
      const raw = (field[2] as string).trim();
      tests.push({
        id: rule.startsWith(RULE_PREFIX) ? rule.slice(RULE_PREFIX.length) : rule,
        ...(title ? { title } : {}),
        result: RESULT[raw] ?? 'warn',
        ...(RESULT[raw] === undefined || raw === 'error' || raw === 'unknown'
          ? { details: `oscap: ${raw}` }
          : {}),
      });
      title = undefined;
      rule = undefined;
    }
  }
  const unknownRules = [...stderr.matchAll(/Selector ID\(([^)]+)\) does not exist/g)].map((m) => {
    const id = m[1] as string;
    return id.startsWith(RULE_PREFIX) ? id.slice(RULE_PREFIX.length) : id;
  });
  const score = />([0-9.]+)<\/score>/.exec(scorePart)?.[1];
  return { rc, tests, unknownRules, version, ...(score ? { xccdfScore: score } : {}), stderr };
}

export async function runOpenscap(
  ex: SshExecutor,
  machine: string,
  o: OpenscapOptions,
): Promise<BenchResult> {
  const rules = [...new Set(o.rules ?? [])];
  if (!o.profile && rules.length === 0)
    throw new HlabError(
      'bad-request',
      'OpenSCAP needs rules or a profile: no step in the library claims SSG rules (benchmarks: { ssg: [...] }); give --profile or --tests.',
      { machine },
    );
  const profile = o.profile ? profileId(o.profile) : TAILORED_PROFILE;
  const tailoring = o.profile ? undefined : tailoringXml(rules);
  const opts = { timeoutMs: o.timeoutMs ?? 20 * 60_000, signal: o.signal, onStderr: o.onOutput };
  const dir = guestDir(o.content.version);
  // The datastream is unpacked once per machine and content version: upload only when missing.
  const present =
    (
      await ex.run(`test -s ${dir}/${DATASTREAM} && echo yes || true`, { asRoot: true, signal: o.signal })
    ).stdout.trim() === 'yes';
  let staged: string | undefined;
  if (!present) {
    staged = (await ex.run('mktemp /tmp/hlab-ssg.XXXXXX', { signal: o.signal })).stdout.trim();
    o.onOutput?.(`uploading ssg-debian ${o.content.version} to ${machine}\n`);
    await ex.copyIn(o.content.file, staged);
  }
  const r = await ex.runScript(
    openscapScript({
      content: o.content,
      profile,
      ...(staged ? { staged } : {}),
      ...(tailoring ? { tailoring } : {}),
    }),
    opts,
  );
  if (r.stdout.includes('HLAB-SSG-HASH'))
    throw new HlabError(
      'command-failed',
      `ssg-debian ${o.content.version} arrived changed on "${machine}" (sha256 mismatch); not used.`,
      { machine },
    );
  const p = parseOscap(r.stdout);
  // 0: all passed, 2: some failed; anything else is oscap failing to evaluate.
  if (r.exitCode !== 0 || (p.rc !== 0 && p.rc !== 2))
    throw new HlabError(
      'command-failed',
      `OpenSCAP did not evaluate on "${machine}" (exit ${p.rc >= 0 ? p.rc : r.exitCode}): ${(p.stderr || r.stderr).trim().split('\n').slice(-3).join(' | ')}`,
      { machine },
    );
  const tests = [...p.tests];
  for (const id of p.unknownRules)
    tests.push({ id, result: 'skip', details: `not in ssg-debian ${o.content.version}` });
  const passed = tests.filter((t) => t.result === 'pass').length;
  const judged = tests.filter((t) => t.result === 'pass' || t.result === 'fail').length;
  return {
    tool: 'openscap',
    machine,
    at: new Date().toISOString(),
    score: passed,
    max: judged,
    tests,
    warnings: tests.filter((t) => t.result === 'fail').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    suggestions: [],
    meta: {
      version: p.version,
      content: `ssg-debian ${o.content.version}`,
      contentSha256: o.content.sha256,
      contentSignature: o.content.signature,
      profile,
      ...(tailoring ? { rules: rules.join(' ') } : {}),
      ...(p.unknownRules.length ? { unknown: p.unknownRules.join(' ') } : {}),
      ...(p.xccdfScore ? { xccdfScore: p.xccdfScore } : {}),
    },
  };
}
