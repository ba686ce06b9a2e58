/** Where ingest mounts the console (services/ingest/app.ts); pages link absolutely. */
export const UI_BASE = '/ui';
