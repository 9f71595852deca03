// @ts-check
/**
 * HTTP proxy requests as the egress proxy reads them from a guest: one head, checked strictly
 * (absolute-form GET/HEAD or CONNECT, token header names, no control characters inside a line, no
 * body), and the origin-form request the upstream gets, with the Host of the checked target.
 */

const HOST_RE =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * @typedef {{ method: string, host: string, port: number, path: string, version: string, headers: string[] }} ProxyRequest
 * @typedef {{ status: number, reason: string }} Refusal
 */

/** @param {number} status @param {string} reason @returns {Refusal} */
export const refuse = (status, reason) => ({ status, reason });
/** @param {unknown} v @returns {v is Refusal} */
export const isRefusal = (v) => typeof v === 'object' && v !== null && 'status' in v && 'reason' in v;

/**
 * A lower-case DNS name or IPv4 literal and a port, or undefined.
 * @param {string} host
 * @param {string} port
 * @returns {{ host: string, port: number } | undefined}
 */
function target(host, port) {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!/^\d{1,5}$/.test(port)) return undefined;
  const p = Number(port);
  if (p < 1 || p > 65535) return undefined;
  if (!HOST_RE.test(h)) return undefined;
  return { host: h, port: p };
}

/**
 * One header line: a token name, and a value without control characters (a bare CR or LF inside a
 * line would be read as a line break by some upstream and not by others).
 * @param {string} line
 */
function headerOk(line) {
  const colon = line.indexOf(':');
  if (colon < 1 || !TOKEN_RE.test(line.slice(0, colon))) return false;
  // eslint-disable-next-line no-control-regex -- exactly the controls a header value must not hold
  return !/[\x00-\x08\x0a-\x1f\x7f]/.test(line.slice(colon + 1));
}

/**
 * GET and HEAD carry no body: only an absent Content-Length or exactly "0", and no Transfer-Encoding.
 * @param {string[]} headers
 */
const hasBody = (headers) =>
  headers.some((h) => {
    const [name = '', ...rest] = h.split(':');
    const n = name.toLowerCase();
    return n === 'transfer-encoding' || (n === 'content-length' && rest.join(':').trim() !== '0');
  });

/**
 * Parses a proxy request head (the bytes before the blank line).
 * @param {string} head
 * @returns {ProxyRequest | Refusal}
 */
export function parseHead(head) {
  const lines = head.split('\r\n');
  const m = /^([A-Z]{1,16}) (\S{1,8000}) (HTTP\/1\.[01])$/.exec(lines[0] ?? '');
  if (!m) return refuse(400, 'Not an HTTP/1.x proxy request');
  const [, method = '', uri = '', version = ''] = m;
  const headers = lines.slice(1).filter((l) => l !== '');
  if (!headers.every(headerOk)) return refuse(400, 'Malformed header line');
  if (hasBody(headers)) return refuse(400, 'A request with a body is not relayed');
  if (method === 'CONNECT') {
    const c = /^([^:/\s]+):(\d+)$/.exec(uri);
    const t = c && target(c[1] ?? '', c[2] ?? '');
    if (!t) return refuse(400, 'CONNECT needs HOST:PORT');
    return { method, ...t, path: '', version, headers };
  }
  if (method !== 'GET' && method !== 'HEAD')
    return refuse(405, `Method ${method} is not relayed (GET, HEAD, CONNECT only)`);
  const u = /^http:\/\/([^/:?#@\s]+)(?::(\d+))?(\/[^\s#]*)?$/i.exec(uri);
  if (!u) return refuse(400, 'A proxy request needs an absolute http:// URL');
  const t = target(u[1] ?? '', u[2] ?? '80');
  if (!t) return refuse(400, 'Bad host or port in the URL');
  return { method, ...t, path: u[3] ?? '/', version, headers };
}

/**
 * The request as the upstream gets it: origin form, the Host header naming the checked target
 * (the guest's own Host would reach any other site behind the same address, e.g. on a CDN), and no
 * proxy headers.
 * @param {ProxyRequest} req
 */
export function originForm(req) {
  const host = req.port === 80 ? req.host : `${req.host}:${req.port}`;
  const kept = req.headers.filter((h) => !/^(host|proxy-connection|proxy-authorization):/i.test(h));
  return `${req.method} ${req.path} ${req.version}\r\nHost: ${host}\r\n${kept.map((h) => `${h}\r\n`).join('')}\r\n`;
}
