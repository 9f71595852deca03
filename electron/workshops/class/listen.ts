/**
 * Where the class server listens: 127.0.0.1 on a free port unless the trainer names an address.
 * Only literal addresses: the links must name exactly what trainees' browsers connect to (a name
 * or a wildcard like 0.0.0.0 would make the Origin and Host checks guess).
 */
import { isIP } from 'node:net';
import { HlabError } from '../../../shared/errors.js';

export interface ListenAt {
  address: string;
  port: number;
}

export function parseListen(v: unknown): ListenAt {
  if (v === undefined || v === '') return { address: '127.0.0.1', port: 0 };
  const bad = (why: string) =>
    new HlabError(
      'bad-request',
      `--listen ${JSON.stringify(v)}: ${why} (e.g. 192.168.1.20:8443 or [fd00::5]:8443).`,
    );
  if (typeof v !== 'string' || v.length > 80) throw bad('expected ADDR:PORT');
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(v) ?? /^([0-9.]+):(\d{1,5})$/.exec(v);
  if (!m) throw bad('expected ADDR:PORT with an IP address');
  const address = m[1] as string;
  const port = Number(m[2]);
  if (!isIP(address)) throw bad(`${address} is not an IP address`);
  if (address === '0.0.0.0' || address === '::')
    throw bad('name the one address trainees will use, not a wildcard');
  if (port > 65535) throw bad('the port must be 0-65535');
  return { address, port };
}
