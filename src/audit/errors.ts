/** The audit log's error for a request it cannot answer; `kind` says how HTTP answers it (400, 404, 503). */
export class AuditError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'unavailable',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}
