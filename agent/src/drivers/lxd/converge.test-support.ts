/** One reconcile pass of a single driver, as the reconciler runs it (without retries or quarantine). */
import type { Spec } from "@outpost/shared";
import { orderSteps } from "../../reconcile/order.ts";
import type { Driver, Step } from "../types.ts";

/** observe, plan, apply every step in `orderSteps` order; resolves with the steps applied. The first failure throws. */
export async function convergeOnce<O>(driver: Driver<O>, spec: Spec): Promise<Step[]> {
  const steps = orderSteps(driver.plan(spec, await driver.observe()));
  for (const step of steps) {
    try {
      await driver.apply(step);
    } catch (e) {
      throw new Error(`step ${step.id} failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return steps;
}

/** The plan a fresh observe gives now (an in-sync site gives none). */
export async function pending<O>(driver: Driver<O>, spec: Spec): Promise<Step[]> {
  return driver.plan(spec, await driver.observe());
}
