import { ApiError } from "../protocol/errors.ts";
import { lightFetch, LightFetchError, type LightRequest, type LightResponse } from "./node-http.ts";

/** A hub answer that was not a success, with the hub's own code and message when it sent one. */
export class HubError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly issues?: { path: string; message: string }[]) {
    super(message);
    this.name = "HubError";
  }
  /** Worth retrying later: the hub or the network is at fault, not the request. */
  get transient(): boolean { return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500; }
}

export async function errorFrom(res: Pick<Response | LightResponse, "status" | "statusText" | "text">): Promise<HubError> {
  const text = await res.text().catch(() => "");
  try {
    const body = ApiError.parse(JSON.parse(text));
    return new HubError(res.status, body.error.code, body.error.message, body.error.issues);
  } catch {
    return new HubError(res.status, `HTTP_${res.status}`, text.slice(0, 200) || res.statusText);
  }
}

const unreachable = (url: string, code: string, message: string) => new HubError(0, code, `cannot reach hub at ${new URL(url).origin}: ${message}`);

/** fetch, with network failures turned into a transient HubError (status 0) naming the URL. */
export async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === "AbortError" || (e as Error).name === "TimeoutError") throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw unreachable(url, cause?.code ?? "NETWORK", cause?.message ?? (e as Error).message);
  }
}

/** The same over node:http (lightFetch): what the agent uses for everything but artifact downloads. */
export async function lightRequest(url: string, init: LightRequest): Promise<LightResponse> {
  try {
    return await lightFetch(url, init);
  } catch (e) {
    if (e instanceof LightFetchError) throw unreachable(url, e.code, e.message);
    throw e;
  }
}

export function joinUrl(base: string, path: string): string { return base.replace(/\/+$/, "") + path; }
