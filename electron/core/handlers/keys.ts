/** Evidence signing keys: this installation's public key, and the colleagues' keys trusted here. */
import { HlabError } from '../../../shared/errors.js';
import { evidenceKey, fingerprint, trustedKeys, trustKey } from '../../recipes/trust.js';
import type { ServiceContext } from '../context.js';
import type { Handlers } from '../dispatcher.js';

export function keyHandlers(ctx: ServiceContext): Pick<Handlers, 'keys.list' | 'keys.export' | 'keys.trust'> {
  return {
    'keys.list': async () => trustedKeys(ctx.home),
    'keys.export': async () => {
      const publicKey = evidenceKey(ctx.home).publicPem;
      return { publicKey, fingerprint: fingerprint(publicKey) };
    },
    'keys.trust': async (req) => {
      if (typeof req.pem !== 'string' || req.pem.length > 16_384)
        throw new HlabError('bad-request', 'pem must be a public key in PEM form.');
      return trustKey(ctx.home, req.pem, String(req.name));
    },
  };
}
