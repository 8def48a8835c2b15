import type { Artifact } from "@outpost/shared";

/**
 * Where a driver gets the large things a bundle ships out of band (LXD images, say). The bundle
 * carries only `{name, sha256, size, url}`; the bytes come from the hub, content-addressed.
 */
export interface ArtifactSource {
  /**
   * The absolute path of a local file whose sha256 and size are exactly those of `artifact`.
   * Downloads it first if needed (resuming an interrupted download); throws VerifyError
   * ARTIFACT_MISMATCH when the hub's bytes are not the bundle's, a HubError when the hub cannot
   * be reached or refuses, and the signal's reason when aborted. Safe to call again after any of
   * those: a retry resumes where the last attempt stopped.
   */
  fetch(artifact: Artifact, signal?: AbortSignal): Promise<string>;
}
