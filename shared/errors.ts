/** The closed set of error codes that may cross the API boundary. The UI keys its "what next" on these. */
export const ERROR_CODES = [
  'bad-request',
  'not-found',
  'conflict',
  'busy',
  'unavailable',
  'tool-missing',
  'permission',
  'vm-not-found',
  'vm-state',
  'vm-crashed',
  'image-missing',
  'image-corrupt',
  'snapshot-not-found',
  'snapshot-invalid',
  'port-in-use',
  'ssh-auth',
  'ssh-refused',
  'ssh-timeout',
  'host-key-changed',
  'host-unreachable',
  'command-failed',
  'timeout',
  'cancelled',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ApiError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Thrown on the node side; turned into `{ok:false,error}` at the boundary. */
export class HlabError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HlabError';
    this.code = code;
    this.details = details;
  }

  toApiError(): ApiError {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Normalises anything thrown into an ApiError without leaking stack traces. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof HlabError) return err.toApiError();
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: 'cancelled', message: 'The operation was cancelled.' };
  }
  if (err instanceof Error) return { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}
