import { ApiError } from "../protocol/errors.ts";

/** A hub answer that was not a success, with the hub's own code and message when it sent one. */
export class HubError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly issues?: { path: string; message: string }[]) {
    super(message);
    this.name = "HubError";
  }
  /** Worth retrying later: the hub or the network is at fault, not the request. */
  get transient(): boolean { return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500; }
}

export async function errorFrom(res: Response): Promise<HubError> {
  const text = await res.text().catch(() => "");
  try {
    const body = ApiError.parse(JSON.parse(text));
    return new HubError(res.status, body.error.code, body.error.message, body.error.issues);
  } catch {
    return new HubError(res.status, `HTTP_${res.status}`, text.slice(0, 200) || res.statusText);
  }
}

/** fetch, with network failures turned into a transient HubError (status 0) naming the URL. */
export async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === "AbortError" || (e as Error).name === "TimeoutError") throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubError(0, cause?.code ?? "NETWORK", `cannot reach hub at ${new URL(url).origin}: ${cause?.message ?? (e as Error).message}`);
  }
}

export function joinUrl(base: string, path: string): string { return base.replace(/\/+$/, "") + path; }
