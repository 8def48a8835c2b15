#!/usr/bin/env node
// Outpost ships its TypeScript sources and runs them through tsx's loader: no build step to forget.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
