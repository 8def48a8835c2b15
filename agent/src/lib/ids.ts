import { monotonicFactory } from "ulid";

/**
 * Report ids are ULIDs from a monotonic factory: ids made within the same millisecond still sort
 * in creation order, which is what lets the outbox flush "in id order" mean "in the order it happened".
 */
export const newId: () => string = monotonicFactory();
