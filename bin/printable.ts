/**
 * Text from alerts and the model reaches the terminal: control sequences in it could clear the
 * screen, hide text, write the clipboard (OSC 52) or forge links (OSC 8). Every C0 and C1 control
 * but newline and tab, DEL, and the bidirectional overrides are shown as `\u{…}` instead.
 */
export const TERMINAL_UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE = new RegExp(TERMINAL_UNSAFE.source, 'g');

export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`);
}

/** JSON for scripts: still valid JSON, with the same characters escaped as `\uXXXX`. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    UNSAFE,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}
