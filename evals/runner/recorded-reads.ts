import type { ToolName } from '../../services/triage/tools/schemas.js';
import { argsMatch } from './match.js';
import type { World } from './world.js';

/** The world's answer to a read-only call: the first matching recording, else its default (never an error). */
export function recordedReads(world: World): (tool: ToolName, args: unknown) => string {
  return (tool, args) => {
    const recording = world.tools.find((r) => r.tool === tool && argsMatch(r.match, args));
    if (!recording) return world.default;
    return recording.exitCode === undefined
      ? recording.output
      : JSON.stringify({ exitCode: recording.exitCode, output: recording.output });
  };
}
