import { CompactSign, GeneralSign } from "jose";
import { BundlePayload, type BundlePayloadInput } from "../bundle/payload.ts";
import { KeysDocument, RootDocument, type GeneralJws } from "./documents.ts";
import type { SigningKey } from "./keys.ts";
import { z } from "zod";

const enc = new TextEncoder();
export const BUNDLE_TYP = "outpost-bundle+jws";

/** Signs a bundle payload (validated first: the hub never signs what an agent would refuse to parse). */
export async function signBundle(payload: BundlePayloadInput, key: SigningKey): Promise<string> {
  const body = BundlePayload.parse(payload);
  return new CompactSign(enc.encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: BUNDLE_TYP })
    .sign(key.privateKey);
}

async function signGeneral(doc: unknown, typ: string, keys: SigningKey[]): Promise<GeneralJws> {
  const signer = new GeneralSign(enc.encode(JSON.stringify(doc)));
  for (const k of keys) signer.addSignature(k.privateKey).setProtectedHeader({ alg: "EdDSA", kid: k.kid, typ });
  return (await signer.sign()) as GeneralJws;
}

export const signRootDocument = (doc: z.input<typeof RootDocument>, keys: SigningKey[]) =>
  signGeneral(RootDocument.parse(doc), "outpost-root+jws", keys);
export const signKeysDocument = (doc: z.input<typeof KeysDocument>, keys: SigningKey[]) =>
  signGeneral(KeysDocument.parse(doc), "outpost-keys+jws", keys);
