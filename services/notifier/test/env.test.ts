import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../../shared/env.js';
import { notifierEnvSchema } from '../env.js';

describe('notifier env', () => {
  it('has the documented defaults', () => {
    const env = parseEnv(notifierEnvSchema, {});
    expect(env.SLACK_API_URL).toBe('https://slack.com/api');
    expect(env.PAGERDUTY_EVENTS_URL).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(env.EMAIL_MODE).toBe('event');
  });

  it('names the missing companion variable', () => {
    expect(() => parseEnv(notifierEnvSchema, { SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(
      /SLACK_CHANNEL: required when SLACK_BOT_TOKEN is set/,
    );
    expect(() => parseEnv(notifierEnvSchema, { SMTP_URL: 'smtp://127.0.0.1:25' })).toThrow(
      /EMAIL_TO: required when SMTP_URL is set/,
    );
  });

  it('rejects a bad URL without echoing the secret in it', () => {
    let message = '';
    try {
      parseEnv(notifierEnvSchema, { SLACK_WEBHOOK_URL: 'hooks.slack.com/services/SECRET123' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('SLACK_WEBHOOK_URL');
    expect(message).not.toContain('SECRET123');
  });
});
