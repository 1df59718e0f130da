#!/usr/bin/env node
/** The `appstreamd` executable: thin commander wiring over the other layers. */
import { Command } from 'commander';
import { accountsCommand, keysCommand } from './admin.js';
import { serveCommand } from './serve.js';

const program = new Command('appstreamd')
  .description('Self-hostable Amazon AppStream (v1) API server with real installs and browser streaming')
  .addCommand(serveCommand())
  .addCommand(accountsCommand())
  .addCommand(keysCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`appstreamd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
