import { randomBytes } from 'node:crypto';
import { hashToken } from '../services/ingest/credentials.js';
import { HermesError } from '../shared/errors.js';

export class UsersCommandError extends HermesError {}

/** Shorter tokens could be guessed: a right token always passes, so length is what protects it. */
const MIN_TOKEN_LENGTH = 24;

/** Reads a token from stdin (never argv: other users see a process's arguments). */
async function readToken(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('token (then Enter): ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk;
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new UsersCommandError(
      `a token is at least ${MIN_TOKEN_LENGTH} characters without spaces; hermes users new-token makes one`,
    );
  return token;
}

/**
 * `hermes users new-token`: a random 256-bit token, for the person to keep, and its USERS_FILE entry.
 * `hermes users hash-token`: the token_hash of a token read from stdin.
 */
export async function usersCommand(verb: string | undefined, name = 'NAME'): Promise<string> {
  switch (verb) {
    case 'new-token': {
      const token = randomBytes(32).toString('base64url');
      return [
        `token (give it to ${name}; it is not stored anywhere): ${token}`,
        'USERS_FILE entry:',
        `  - name: ${name}`,
        '    role: viewer            # or operator, approver',
        `    token_hash: ${hashToken(token)}`,
      ].join('\n');
    }
    case 'hash-token':
      return hashToken(await readToken());
    default:
      throw new UsersCommandError(
        'usage: hermes users new-token [--name NAME] | hermes users hash-token < token',
      );
  }
}
