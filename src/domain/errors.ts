/**
 * Errors the write side decides: what is wrong, in the domain's words. The HTTP layer maps
 * each kind to a status (src/http/errors.ts); nothing here knows about HTTP.
 */
export type DomainErrorKind =
  /** malformed or self-contradictory (400) */
  | 'invalid'
  /** a reference that does not resolve (404) */
  | 'not_found'
  /** an invariant would break, or a concurrent write won (409) */
  | 'conflict';

export interface FieldProblem {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly extra: {
      /** The fields at fault, as `data.term.to`. */
      errors?: FieldProblem[];
      /** The factId of the recorded fact this one collides with. */
      collidesWith?: string;
    } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
