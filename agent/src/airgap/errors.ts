/**
 * Why an air-gap import or export refused: a code (stable, for scripts and tests) and a message a
 * technician can act on. Bundle refusals carry the intake's VerifyError code (BUNDLE_ROLLBACK...).
 */
export class AirgapError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "AirgapError";
  }
}
