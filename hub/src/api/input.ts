import type { Context } from "hono";
import type { z } from "zod";
import { HttpError, validationError } from "./errors.ts";

/** Invalid UTF-8 is refused, not quietly turned into U+FFFD and stored. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads and validates a JSON body: 400 BAD_JSON if it is not UTF-8 JSON, 400 VALIDATION naming the field if the schema refuses it. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const bytes = await c.req.arrayBuffer();
  let text: string;
  try { text = utf8.decode(bytes); } catch { throw new HttpError(400, "BAD_JSON", "request body is not valid UTF-8"); }
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "BAD_JSON", `request body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error, "request body");
  return parsed.data;
}

/** Validates the query string (each parameter once; the schemas are strict, so unknown ones are refused). */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw validationError(parsed.error, "query");
  return parsed.data;
}

/** Validates one path parameter, reported under its own name. */
export function readParam<S extends z.ZodType>(c: Context, name: string, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success) throw validationError(parsed.error, name, [name]);
  return parsed.data;
}
