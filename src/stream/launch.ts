import { launchTerminal } from './terminal-runner.js';
import { launchX11 } from './x11-runner.js';
import { LaunchError, type LaunchSpec, type RunningProgram, type Sandbox } from './types.js';

/** Starts the program of a session with the runner its protocol needs; throws LaunchError. */
export async function launchProgram(spec: LaunchSpec, sandbox: Sandbox): Promise<RunningProgram> {
  switch (spec.protocol) {
    case 'terminal':
      return launchTerminal(spec, sandbox);
    case 'x11':
      return launchX11(spec, sandbox);
    default: {
      const unknown: never = spec.protocol;
      throw new LaunchError(`unknown stream protocol ${String(unknown)}`);
    }
  }
}
