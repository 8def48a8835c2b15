/**
 * Every way a bundle or key document can be refused, each with its own code so a rejection
 * reported to the hub says exactly which protection fired.
 */
export const VerifyCodes = {
  BUNDLE_TOO_LARGE: "payload over the size limit",
  BUNDLE_MALFORMED: "not a well-formed bundle JWS or payload",
  BUNDLE_BAD_SIGNATURE: "signature does not verify",
  BUNDLE_UNKNOWN_KEY: "signed by a key the keys document does not list",
  BUNDLE_RETIRED_KEY: "signed by a retired key",
  BUNDLE_KEY_ROLE: "signed by a key without the bundle role",
  BUNDLE_EXPIRED: "bundle expired (freeze protection)",
  BUNDLE_ROLLBACK: "bundle version not newer than the stored one (rollback protection)",
  BUNDLE_WRONG_SITE: "bundle addressed to another site (mix-and-match protection)",
  BUNDLE_KEYS_VERSION: "bundle needs a newer keys document than the agent trusts",
  KEYS_MALFORMED: "not a well-formed keys document",
  KEYS_THRESHOLD: "keys document not signed by the pinned root threshold",
  KEYS_EXPIRED: "keys document expired",
  KEYS_ROLLBACK: "keys document older than the trusted one",
  ROOT_MALFORMED: "not a well-formed root document",
  ROOT_HASH_MISMATCH: "root document does not match the pinned root hash",
  ROOT_THRESHOLD: "root rotation not signed by the threshold of both old and new root keys",
  ROOT_VERSION: "root rotation must go from version N to N+1",
  ARTIFACT_MISMATCH: "artifact digest or size does not match the bundle",
} as const;
export type VerifyCode = keyof typeof VerifyCodes;

export class VerifyError extends Error {
  constructor(readonly code: VerifyCode, detail?: string) {
    super(detail ? `${VerifyCodes[code]}: ${detail}` : VerifyCodes[code]);
    this.name = "VerifyError";
  }
}
