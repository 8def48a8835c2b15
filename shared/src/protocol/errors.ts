import { z } from "zod";

/** Every 4xx/5xx body from the hub: a stable code, a sentence, and for bad input the fields at fault. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.output<typeof ApiError>;
