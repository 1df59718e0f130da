export { launchProgram } from './launch.js';
export { LaunchError, CLIENT_CLOSE } from './types.js';
export type {
  StreamProtocol,
  LaunchSpec,
  ClientPort,
  ExitReason,
  ProgramExit,
  RunningProgram,
  Sandbox,
} from './types.js';
export { findXvnc } from './xvnc.js';
export { TERMINAL_REPLAY_BYTES } from './terminal-runner.js';
