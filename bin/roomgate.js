#!/usr/bin/env node
// Entry point of the `roomgate` command; the code is compiled to dist/ by `npm run build`.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
