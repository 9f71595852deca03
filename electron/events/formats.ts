/**
 * Wire formats for SIEMs: RFC 5424 syslog framed by octet counting (RFC 6587 3.4.1), and Splunk
 * HTTP Event Collector envelopes (batched by concatenating JSON objects, not as an array).
 */
import { toEcs, type AuthEvent } from '../../shared/events.js';
import { stripControls } from '../../shared/guest-text.js';

/** IANA's example enterprise number (RFC 5612): for structured data of a lab tool, not a product. */
export const SD_ID = 'hlab@32473';
const AUTHPRIV = 10;
const SEVERITY = { success: 6, failure: 5, unknown: 6 } as const;

/** PARAM-VALUE escaping (RFC 5424 6.3.3): '"', '\' and ']' get a backslash. */
const sdValue = (v: string) => v.replace(/[\\"\]]/g, (c) => `\\${c}`);
/** HOSTNAME, APP-NAME, MSGID are PRINTUSASCII without spaces, with a maximum length; "-" is nil. */
const token = (v: string | undefined, max: number) => {
  const t = (v ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return t || '-';
};

export function toRfc5424(e: AuthEvent): string {
  const pri = AUTHPRIV * 8 + SEVERITY[e.outcome];
  const params: Array<[string, string | number | boolean | undefined]> = [
    ['id', e.id],
    ['action', e.action],
    ['outcome', e.outcome],
    ['machine', e.machine],
    ['user', e.user],
    ['srcip', e.sourceIp],
    ['srcport', e.sourcePort],
    ['method', e.method],
    ['key', e.keyFingerprint],
    ['operator', e.operator],
  ];
  const sd = `[${SD_ID}${params
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${sdValue(stripControls(String(v)))}"`)
    .join('')}]`;
  // The MSG is the raw line without controls: a line break would end it for non-transparent
  // framing, ESC and the rest would reach whoever reads the SIEM in a terminal.
  const msg = stripControls(e.raw.replace(/[\r\n]+/g, ' '));
  return `<${pri}>1 ${e.time} ${token(e.hostname, 255)} ${token(e.process, 48)} ${e.pid ?? '-'} ${token(`hlab.${e.action}`, 32)} ${sd} ${msg}`;
}

/** MSG-LEN SP SYSLOG-MSG, the length in bytes (RFC 6587 octet counting). */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export interface HecOptions {
  index?: string;
  sourcetype?: string;
}

export function toHecEvent(e: AuthEvent, o: HecOptions = {}): string {
  return JSON.stringify({
    time: Date.parse(e.time) / 1000,
    host: e.hostname,
    source: 'hardening-lab',
    sourcetype: o.sourcetype ?? 'hlab:auth',
    ...(o.index ? { index: o.index } : {}),
    event: toEcs(e),
  });
}

/** HEC takes several events in one body as JSON objects one after another. */
export function hecBatch(events: AuthEvent[], o: HecOptions = {}): string {
  return events.map((e) => toHecEvent(e, o)).join('\n');
}
