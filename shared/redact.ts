/** `scheme://user:password@host` → `scheme://user:[redacted]@host`, wherever it appears in a text. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]+)@/gi, '$1$2:[redacted]@');
}

/** Every occurrence of a secret (an API key an upstream echoed back, say) hidden. */
export function redactSecret(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.replaceAll(secret, '[redacted]') : text;
}
