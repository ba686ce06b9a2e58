import { z } from 'zod';

/** `{{host}}`, `{{instance}}` and `{{labels.NAME}}` are the only placeholders a target may use. */
export const TEMPLATE_PART = /\{\{\s*([^}]*?)\s*\}\}/g;
const PLACEHOLDER = /^(host|instance|labels\.[A-Za-z_][A-Za-z0-9_]*)$/;

export const template = z
  .string()
  .min(1)
  .max(500)
  .check((payload) => {
    for (const [, name] of payload.value.matchAll(TEMPLATE_PART))
      if (!PLACEHOLDER.test(name ?? ''))
        payload.issues.push({
          code: 'custom',
          message: `unknown placeholder {{${name}}}: use {{host}}, {{instance}} or {{labels.NAME}}`,
          input: payload.value,
        });
  });

export const seconds = (fallback: number) => z.number().int().min(1).max(3_600).default(fallback);

/** What a target's templates are filled from: one alert. */
export interface AlertValues {
  /** The instance label without its port. */
  host: string;
  instance: string;
  label(name: string): string;
}

/** Fills a template from an alert; a missing value throws (one line) unless `required` is false. */
export function render(template: string, values: AlertValues, required = true): string {
  return template.replace(TEMPLATE_PART, (_, name: string) => {
    const value =
      name === 'host' ? values.host : name === 'instance' ? values.instance : values.label(name.slice(7));
    if (!value && required)
      throw new Error(
        `the alert has no ${name === 'host' || name === 'instance' ? 'instance label' : `label ${name.slice(7)}`}`,
      );
    return value;
  });
}
