/**
 * The base of Hermes' own errors: its name is its class's (so logs say which), it keeps its cause,
 * and it says whether the same request may work if tried again (`retryable`).
 */
export class HermesError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}
