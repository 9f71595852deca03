// @ts-check
/**
 * The server name a guest's TLS ClientHello asks for, read from the first TLS records without
 * consuming them: a CONNECT tunnel carries TLS only, to the name it was opened for.
 */
import { refuse } from './egress-http.mjs';

/** @typedef {import('./egress-http.mjs').Refusal} Refusal */

/** A ClientHello spans at most one full TLS record here (16 KiB) plus record headers. */
export const HELLO_LIMIT = 16 * 1024 + 64;

/**
 * The server name of a TLS ClientHello, read from the first TLS records (kept, not consumed).
 * Returns undefined while more bytes are needed.
 * @param {Buffer} buf
 * @returns {{ sni: string | null } | Refusal | undefined}
 */
export function clientHelloSni(buf) {
  /** @type {Buffer[]} */
  const parts = [];
  for (let off = 0; ;) {
    if (buf.length < off + 5) return undefined;
    if (buf[off] !== 22 || buf[off + 1] !== 3)
      return refuse(403, 'CONNECT carries TLS only, and this is not a TLS handshake');
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384) return refuse(400, 'Malformed TLS record');
    if (buf.length < off + 5 + len) return undefined;
    parts.push(buf.subarray(off + 5, off + 5 + len));
    off += 5 + len;
    const hs = Buffer.concat(parts);
    if (hs.length < 4) continue;
    if (hs[0] !== 1) return refuse(403, 'CONNECT carries TLS only, and this is not a ClientHello');
    const hsLen = hs.readUIntBE(1, 3);
    if (hsLen > HELLO_LIMIT) return refuse(400, 'ClientHello too large');
    if (hs.length >= 4 + hsLen) return helloServerName(hs.subarray(4, 4 + hsLen));
  }
}

/**
 * @param {Buffer} b the ClientHello body
 * @returns {{ sni: string | null } | Refusal}
 */
function helloServerName(b) {
  let p = 0;
  const need = (/** @type {number} */ n) => {
    if (p + n > b.length) throw new RangeError('short');
  };
  const u8 = () => (need(1), b[p++] ?? 0);
  const u16 = () => (need(2), (p += 2), b.readUInt16BE(p - 2));
  const skip = (/** @type {number} */ n) => (need(n), (p += n));
  try {
    skip(2 + 32); // version, random
    skip(u8()); // session id
    skip(u16()); // cipher suites
    skip(u8()); // compression methods
    if (p === b.length) return { sni: null };
    const end = p + u16();
    if (end > b.length) throw new RangeError('short');
    /** @type {string | null} */
    let sni = null;
    while (p < end) {
      const type = u16();
      const len = u16();
      need(len);
      if (type === 0xfe0d) return refuse(403, 'Encrypted ClientHello hides the server name; not relayed');
      if (type === 0) {
        const list = b.subarray(p + 2, p + len);
        if (list[0] !== 0 || list.length < 3) return refuse(400, 'Malformed server name');
        const nameLen = list.readUInt16BE(1);
        if (3 + nameLen > list.length) return refuse(400, 'Malformed server name');
        sni = list
          .subarray(3, 3 + nameLen)
          .toString('latin1')
          .toLowerCase()
          .replace(/\.$/, '');
      }
      p += len;
    }
    return { sni };
  } catch {
    return refuse(400, 'Malformed ClientHello');
  }
}
