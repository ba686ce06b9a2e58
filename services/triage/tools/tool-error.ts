import { HermesError } from '../../../shared/errors.js';
/** A tool call that cannot be answered; its message is shown to the model as the tool's error. */
export class ToolError extends HermesError {}
