/** One reconcile pass of a single driver, as the reconciler runs it but without retries or quarantine: for driver tests. */
import type { Spec } from "@outpost/shared";
import { orderSteps } from "../reconcile/order.ts";
import type { Driver, Step } from "./types.ts";

export interface PassResult { steps: Step[]; failed: { id: string; error: string }[] }

/** observe, plan, apply every step in orderSteps order; like the reconciler, a failing step does not stop the others. */
export async function convergeOnce<O>(driver: Driver<O>, spec: Spec): Promise<PassResult> {
  const steps = orderSteps(driver.plan(spec, await driver.observe()));
  const failed: PassResult["failed"] = [];
  for (const step of steps) {
    try { await driver.apply(step); } catch (e) { failed.push({ id: step.id, error: (e as Error).message }); }
  }
  return { steps, failed };
}

/** The same pass, stopping at the first failure with the step named: for tests where any failure is the bug. */
export async function convergeOrThrow<O>(driver: Driver<O>, spec: Spec): Promise<Step[]> {
  const steps = orderSteps(driver.plan(spec, await driver.observe()));
  for (const step of steps) {
    try { await driver.apply(step); } catch (e) { throw new Error(`step ${step.id} failed: ${(e as Error).message}`, { cause: e }); }
  }
  return steps;
}

/** The plan a fresh observe gives now (an in-sync site gives none). */
export async function pending<O>(driver: Driver<O>, spec: Spec): Promise<Step[]> {
  return driver.plan(spec, await driver.observe());
}
