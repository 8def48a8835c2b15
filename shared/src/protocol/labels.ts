import { z } from "zod";
import { LABEL_KEY_RE, LABEL_VALUE_RE } from "../selector/selector.ts";

export const LabelKey = z.string().regex(LABEL_KEY_RE, "label keys are 1-128 characters of letters, digits, '.', '_', '/', '-'");
export const LabelValue = z.string().regex(LABEL_VALUE_RE, "label values are 0-63 characters of letters, digits, '.', '_', '-'");
export const LabelMap = z.record(LabelKey, LabelValue).refine((m) => Object.keys(m).length <= 64, "at most 64 labels");
